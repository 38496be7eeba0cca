// Package eventport is how the catalog reacts to events.
package eventport

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/cache"
	"github.com/modmono/shop/platform/bus"
)

// Listeners returns the catalog's listeners. Unlike consumers they run in
// every process of the catalog, which is what an in-memory cache needs.
func Listeners(c *cache.Products) []bus.Listener {
	return []bus.Listener{{
		Name:  "catalog.invalidate_cache",
		Topic: catalogapi.ProductUpdated,
		// The aggregate ID of every version of the event is the product ID,
		// so a future ProductUpdatedV2 invalidates without a change here.
		Handle: func(_ context.Context, e bus.Envelope) error {
			id, err := uuid.Parse(e.AggregateID)
			if err != nil {
				return fmt.Errorf("%w: %s %s has no product id as its aggregate id", bus.ErrMalformed, e.Type, e.ID)
			}
			c.Invalidate(id)
			return nil
		},
	}}
}
