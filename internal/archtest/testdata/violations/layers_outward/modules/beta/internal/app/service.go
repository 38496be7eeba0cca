package app

import "example.com/shop/modules/beta/internal/adapters/pg"

var _ pg.Links
