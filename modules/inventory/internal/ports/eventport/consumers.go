// Package eventport is how inventory reacts to other modules' events.
package eventport

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/internal/adapters/pg"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Consumers returns inventory's consumers, as its surface declares them.
func Consumers(db *pgxdb.DB) ([]bus.Consumer, error) {
	return inventoryapi.Surface.Bind(db, map[string]bus.HandlerFunc{
		"inventory.track_new_product": trackNewProduct,
	})
}

// trackNewProduct gives every new catalog product an empty stock record.
var trackNewProduct = bus.On(func(ctx context.Context, tx pgx.Tx, _ bus.Envelope, ev catalogapi.ProductCreatedV1) error {
	return pg.Track(ctx, tx, ev.ProductID)
})
