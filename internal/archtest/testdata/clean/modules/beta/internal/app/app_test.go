package app

import (
	"testing"

	"example.com/shop/modules/alpha/alphaapi"
)

func TestTopics(t *testing.T) { _ = alphaapi.ItemCreated }
