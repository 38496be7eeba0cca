// Package catalog is the catalog bounded context: products and their prices.
// See README.md for its language, rules and events.
package catalog

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	catalogmigrations "github.com/modmono/shop/migrations/catalog"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/adapters/pg"
	"github.com/modmono/shop/modules/catalog/internal/app"
	"github.com/modmono/shop/modules/catalog/internal/cache"
	"github.com/modmono/shop/modules/catalog/internal/ports/eventport"
	"github.com/modmono/shop/modules/catalog/internal/ports/httpport"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

// Name is the module's name, schema and configuration prefix.
const Name = catalogapi.Name

// Module wires the catalog: its database, its product cache, its service
// behind catalogapi.API, the listener that keeps the cache fresh, and its
// routes.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, catalogmigrations.FS) },
		func(reg prometheus.Registerer) (*cache.Products, error) { return cache.New(cache.Config{}, reg) },
		// The app layer knows its store by the interface it owns.
		func(db *pgxdb.DB) app.Products { return pg.NewProducts(db) },
		app.New,
	),
	fx.Provide(func(s *app.Service) catalogapi.API { return catalogapi.Traced(s) }),
	fx.Invoke(
		func(b *bus.Bus, c *cache.Products) error {
			for _, l := range eventport.Listeners(c) {
				if err := b.Listen(l); err != nil {
					return err
				}
			}
			return nil
		},
		func(h *host.HTTP, api catalogapi.API, guard *auth.Guard, log *zap.Logger) {
			httpport.Mount(h.API, api, guard, log.Named(Name))
		},
	),
	host.ServeAPI[catalogapi.API](Name), // for modules in other processes
)

// Definition describes the catalog to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    catalogapi.Surface,
	FX:         Module,
	Migrations: catalogmigrations.FS,
}
