// Package beta wires the beta module.
package beta

import (
	betamigrations "example.com/shop/migrations/beta"
	"example.com/shop/modules/alpha/alphaapi"
	"example.com/shop/modules/beta/internal/app"
	"example.com/shop/platform/db"
)

// Name is the module's name and schema.
const Name = "beta"

func wire(a alphaapi.API) { app.New(db.Open(Name, betamigrations.FS), a) }
