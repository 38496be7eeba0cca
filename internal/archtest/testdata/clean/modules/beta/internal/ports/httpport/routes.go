// Package httpport drives the app: the port depends inwards.
package httpport

import (
	"example.com/shop/modules/beta/internal/adapters/pg"
	"example.com/shop/modules/beta/internal/app"
)

var _ app.Links = pg.Links{}
