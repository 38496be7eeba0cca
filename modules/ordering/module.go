// Package ordering is the ordering bounded context: orders, the checkout
// saga that confirms or cancels them, and the read model customers list.
// See README.md for its language, rules and events.
package ordering

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	orderingmigrations "github.com/modmono/shop/migrations/ordering"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/ports/eventport"
	"github.com/modmono/shop/modules/ordering/internal/ports/httpport"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

// Name is the module's name, schema and configuration prefix.
const Name = orderingapi.Name

// Module wires ordering: its database, the saga runner, the service behind
// orderingapi.API, its consumers and its routes.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, orderingmigrations.FS) },
		pg.NewOrders,
		pg.NewViews,
		func(orders *pg.Orders, cfg config.Config) *pg.Sagas {
			return pg.NewSagas(orders, app.LeaseFor(cfg.PaymentTimeout))
		},
		newRunner,
		app.New,
	),
	fx.Provide(func(s *app.Service) orderingapi.API { return s }),
	host.Work(func(r *app.Runner, sagas *pg.Sagas, log *zap.Logger) host.Worker {
		return func(ctx context.Context) {
			r.Run(ctx)
			if err := sagas.ReleaseLeases(context.Background()); err != nil {
				log.Warn("cannot release saga leases; they will expire", zap.Error(err))
			}
		}
	}),
	host.Consume(eventport.Consumers),
	fx.Invoke(
		func(h *host.HTTP, api orderingapi.API, guard *auth.Guard, cfg config.Config, log *zap.Logger) {
			httpport.Mount(h.API, api, guard, httpport.Limits{PlacePerMinute: cfg.OrderRate}, log.Named(Name))
		},
	),
	host.ServeAPI[orderingapi.API](Name), // for modules in other processes
)

func newRunner(cfg config.Config, sagas *pg.Sagas, inventory inventoryapi.API, payments paymentsapi.API,
	log *zap.Logger, reg prometheus.Registerer) *app.Runner {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ordering_saga_outcomes_total", Help: "Sagas finished, by outcome: confirmed, cancelled (checkout compensated), cancelled_confirmed (a confirmed order cancelled).",
	}, []string{"outcome"})
	reg.MustRegister(outcomes)
	return app.NewRunner(app.RunnerConfig{PaymentTimeout: cfg.PaymentTimeout}, sagas, inventory, payments, log.Named("saga"),
		func(status string) { outcomes.WithLabelValues(status).Inc() })
}

// RebuildReadModel empties the order read model and replays ordering's
// event history into it. It returns the number of events replayed.
func RebuildReadModel(ctx context.Context, db *pgxdb.DB) (int, error) {
	return pg.NewViews(db).Rebuild(ctx)
}

// Definition describes ordering to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    orderingapi.Surface,
	FX:         Module,
	Migrations: orderingmigrations.FS,
	Commands: []modkit.Command{{
		Name: "rebuild-read-models",
		Help: "empty the order read model and rebuild it from ordering's event history",
		Run: func(ctx context.Context, db *pgxdb.DB, log *zap.Logger) error {
			n, err := RebuildReadModel(ctx, db)
			if err == nil {
				log.Info("order read model rebuilt", zap.Int("events_replayed", n))
			}
			return err
		},
	}},
}
