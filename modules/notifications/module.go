// Package notifications is the notifications bounded context: messages to
// users, decided from other modules' events alone. See README.md.
package notifications

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	notificationsmigrations "github.com/modmono/shop/migrations/notifications"
	"github.com/modmono/shop/modules/notifications/internal/adapters/pg"
	"github.com/modmono/shop/modules/notifications/internal/ports/eventport"
	"github.com/modmono/shop/modules/notifications/internal/ports/httpport"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

// Name is the module's name, schema and configuration prefix.
const Name = notificationsapi.Name

// Module wires notifications: its database, its consumers and its route.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, notificationsmigrations.FS) },
		pg.New,
	),
	fx.Provide(func(s *pg.Notifications) notificationsapi.API { return notificationsapi.Traced(s) }),
	host.Consume(eventport.Consumers),
	fx.Invoke(
		func(h *host.HTTP, api notificationsapi.API, guard *auth.Guard, log *zap.Logger) {
			httpport.Mount(h.API, api, guard, log.Named(Name))
		},
	),
	host.ServeAPI[notificationsapi.API](Name), // for modules in other processes
)

// Definition describes notifications to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    notificationsapi.Surface,
	FX:         Module,
	Migrations: notificationsmigrations.FS,
}
