// Package seed fills a development shop with demo products and stock, so a
// person who runs `make run` has something to browse and order.
package seed

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/page"
)

// Product is one demo product and its initial stock.
type Product struct {
	catalogapi.ProductInput
	Stock int64
}

// Products is the demo catalogue.
var Products = []Product{
	{catalogapi.ProductInput{Name: "Sencha green tea", Description: "Steamed Japanese green tea, 100 g", Price: 850, Currency: "EUR"}, 40},
	{catalogapi.ProductInput{Name: "Assam breakfast tea", Description: "Strong and malty black tea, 250 g", Price: 1150, Currency: "EUR"}, 25},
	{catalogapi.ProductInput{Name: "Earl Grey", Description: "Black tea with bergamot, 100 g", Price: 790, Currency: "EUR"}, 30},
	{catalogapi.ProductInput{Name: "Rooibos vanilla", Description: "Caffeine-free, 100 g", Price: 690, Currency: "EUR"}, 20},
	{catalogapi.ProductInput{Name: "Cast-iron teapot", Description: "0.8 l, with infuser", Price: 4900, Currency: "EUR"}, 5},
	{catalogapi.ProductInput{Name: "Glass mug", Description: "Double-walled, 300 ml", Price: 1450, Currency: "EUR"}, 12},
	{catalogapi.ProductInput{Name: "Tea infuser", Description: "Stainless steel mesh ball", Price: 450, Currency: "EUR"}, 60},
	{catalogapi.ProductInput{Name: "Matcha whisk", Description: "Bamboo chasen, 100 prongs", Price: 1990, Currency: "EUR"}, 0},
}

// Demo creates the demo products and sets their stock, unless the catalog
// already has products (a restart, or a shop someone has filled).
func Demo(ctx context.Context, catalog catalogapi.API, inventory inventoryapi.API, log *zap.Logger) error {
	existing, err := catalog.ListProducts(ctx, page.Request{Limit: 1})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if len(existing.Items) > 0 {
		return nil
	}
	for _, p := range Products {
		created, err := catalog.CreateProduct(ctx, p.ProductInput)
		if err != nil {
			return fmt.Errorf("seed %q: %w", p.Name, err)
		}
		err = whenAvailable(ctx, log, func() error {
			_, err := inventory.SetStock(ctx, created.ID, inventoryapi.SetStockInput{OnHand: p.Stock})
			return err
		})
		if err != nil {
			return fmt.Errorf("seed stock of %q: %w", p.Name, err)
		}
	}
	log.Info("seeded demo products", zap.Int("products", len(Products)))
	return nil
}

// whenAvailable runs call until it succeeds or fails for another reason than
// an unavailable module: with inventory in its own process, it may start
// after the catalog that seeds.
func whenAvailable(ctx context.Context, log *zap.Logger, call func() error) error {
	for {
		err := call()
		if apperr.KindOf(err) != apperr.KindUnavailable {
			return err
		}
		log.Info("seed: waiting for a module to be available", zap.Error(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}
