// Package inventory is the inventory bounded context: stock levels and
// reservations. See README.md for its language, rules and events.
package inventory

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	inventorymigrations "github.com/modmono/shop/migrations/inventory"
	"github.com/modmono/shop/modules/inventory/internal/adapters/pg"
	"github.com/modmono/shop/modules/inventory/internal/app"
	"github.com/modmono/shop/modules/inventory/internal/ports/eventport"
	"github.com/modmono/shop/modules/inventory/internal/ports/httpport"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

// Name is the module's name, schema and configuration prefix.
const Name = inventoryapi.Name

// Module wires inventory: its database, its service behind
// inventoryapi.API, its consumers and its routes.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, inventorymigrations.FS) },
		// The app layer knows its store by the interface it owns.
		func(db *pgxdb.DB) app.Stock { return pg.NewStock(db) },
		app.New,
	),
	fx.Provide(func(s *app.Service) inventoryapi.API { return inventoryapi.Traced(s) }),
	host.Consume(eventport.Consumers),
	fx.Invoke(
		func(h *host.HTTP, api inventoryapi.API, guard *auth.Guard, log *zap.Logger) {
			httpport.Mount(h.API, api, guard, log.Named(Name))
		},
	),
	host.ServeAPI[inventoryapi.API](Name), // for modules in other processes
)

// Definition describes inventory to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    inventoryapi.Surface,
	FX:         Module,
	Migrations: inventorymigrations.FS,
}
