package app

import (
	"testing"

	alphamigrations "example.com/shop/migrations/alpha"
)

func TestSchema(t *testing.T) { _ = alphamigrations.FS }
