package app

import (
	"testing"

	"example.com/shop/modules/alpha/internal/store"
)

func TestStore(t *testing.T) { _ = store.New }
