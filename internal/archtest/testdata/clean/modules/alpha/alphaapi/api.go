// Package alphaapi is alpha's surface: a leaf that imports only platform/.
package alphaapi

import (
	"context"

	"example.com/shop/platform/db"
)

// Event types: "alpha.item_created" is no SQL and names no schema.
const ItemCreated = "alpha.item_created"

// ErrNotFound has a code that looks like a qualified name but is no SQL.
var ErrNotFound = db.Code("alpha.item_not_found")

// Item is a DTO; its tag holds an SQL keyword and must not be scanned.
type Item struct {
	From string `json:"from" note:"select beta.x"`
}

// API is what alpha offers.
type API interface {
	Get(ctx context.Context, id string) (Item, error)
}
