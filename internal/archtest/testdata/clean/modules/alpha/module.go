// Package alpha wires the alpha module.
package alpha

import (
	alphamigrations "example.com/shop/migrations/alpha"
	"example.com/shop/modules/alpha/alphaapi"
	"example.com/shop/modules/alpha/internal/store"
	"example.com/shop/platform/db"
)

// Name is the module's name and schema.
const Name = "alpha"

var _ alphaapi.API = store.New(db.Open(Name, alphamigrations.FS))
