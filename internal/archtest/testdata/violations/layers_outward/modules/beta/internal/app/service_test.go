package app_test

import "example.com/shop/modules/beta/internal/adapters/pg"

var _ pg.Links // tests may wire the real adapter
