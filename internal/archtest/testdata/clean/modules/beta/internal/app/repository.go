package app

import (
	"example.com/shop/modules/beta/internal/cache"
	"example.com/shop/modules/beta/internal/domain"
)

// Links is the store the app owns; adapters implement it.
type Links interface{ Add(domain.Link) error }

var _ cache.Links
