package app_test

import (
	"testing"

	"example.com/shop/modules"
)

func TestAll(t *testing.T) { _ = modules.All }
