// Package ordering is the ordering bounded context: orders, the checkout
// saga that confirms or cancels them, and the read model customers list.
// See README.md for its language, rules and events.
package ordering

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	orderingmigrations "github.com/modmono/shop/migrations/ordering"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/internal/ports/eventport"
	"github.com/modmono/shop/modules/ordering/internal/ports/httpport"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/ratelimit"
)

// Name is the module's name, schema and configuration prefix.
const Name = orderingapi.Name

// Module wires ordering: its database, the saga runner, the service behind
// orderingapi.API, its consumers and its routes.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, orderingmigrations.FS) },
		func(db *pgxdb.DB, s Settings) *pg.Orders { return pg.NewOrders(db, app.LeaseFor(s.PaymentTimeout)) },
		// The app layer knows its stores by the interfaces it owns.
		func(orders *pg.Orders) app.Orders { return orders },
		func(db *pgxdb.DB) app.Views { return pg.NewViews(db) },
		func(orders *pg.Orders) app.Sagas { return pg.NewSagas(orders) },
		newRunner,
		app.New,
	),
	fx.Provide(func(s *app.Service) orderingapi.API { return orderingapi.Traced(s) }),
	host.Work(func(r *app.Runner, sagas app.Sagas, log *zap.Logger) host.Worker {
		return func(ctx context.Context) {
			r.Run(ctx)
			if err := sagas.ReleaseLeases(context.Background()); err != nil {
				log.Warn("cannot release saga leases; they will expire", zap.Error(err))
			}
		}
	}),
	host.Consume(eventport.Consumers),
	fx.Invoke(
		func(h *host.HTTP, api orderingapi.API, s *app.Service, guard *auth.Guard, rl *ratelimit.Limiter, cfg config.Config, log *zap.Logger) {
			httpport.Mount(h.API, api, s, guard, rl, httpport.Limits{PlacePerMinute: cfg.OrderRate}, log.Named(Name))
		},
	),
	host.ServeAPI[orderingapi.API](Name), // for modules in other processes
)

// Settings are ordering's own settings, read only where it runs.
type Settings struct {
	PaymentTimeout time.Duration // APP_PAYMENT_TIMEOUT (paymentsapi.Timeout): how long the saga waits for a charge
}

func readSettings(r *config.Reader) Settings {
	return Settings{PaymentTimeout: paymentsapi.Timeout(r)}
}

func newRunner(s Settings, sagas app.Sagas, orders app.Orders, inventory inventoryapi.API, payments paymentsapi.API,
	log *zap.Logger, reg prometheus.Registerer) *app.Runner {
	m := newSagaMetrics(sagas)
	reg.MustRegister(m.outcomes, m.duration, m.inFlight)
	return app.NewRunner(app.RunnerConfig{PaymentTimeout: s.PaymentTimeout, Lease: app.LeaseFor(s.PaymentTimeout)},
		sagas, orders, inventory, payments, log.Named("saga"), m.finished)
}

// sagaMetrics are the checkout's outcomes, how long sagas take and how
// many run.
type sagaMetrics struct {
	outcomes *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.GaugeFunc
}

func newSagaMetrics(sagas app.Sagas) sagaMetrics {
	m := sagaMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordering_saga_outcomes_total", Help: "Sagas finished, by outcome: confirmed, cancelled (checkout compensated), cancelled_confirmed (a confirmed order cancelled).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ordering_saga_duration_seconds", Help: "Time from an order's placement to its checkout saga's end, by outcome (confirmed, cancelled).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"outcome"}),
		// Read at scrape time from the table, so it counts the sagas of
		// every instance and survives restarts.
		inFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ordering_sagas_in_flight", Help: "Sagas that have not ended yet, in every process.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := sagas.InFlight(ctx)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		}),
	}
	// Every outcome is there from the start, at 0, so rates and alerts see it.
	for _, o := range domain.Outcomes {
		m.outcomes.WithLabelValues(string(o))
	}
	for _, o := range []domain.Outcome{domain.OutcomeConfirmed, domain.OutcomeCancelled} {
		m.duration.WithLabelValues(string(o))
	}
	return m
}

// finished counts a saga's outcome and, for a checkout (not the cancellation
// of a confirmed order, which may come days later), how long it took.
func (m sagaMetrics) finished(outcome domain.Outcome, placed time.Time) {
	m.outcomes.WithLabelValues(string(outcome)).Inc()
	if outcome != domain.OutcomeCancelledConfirmed && !placed.IsZero() {
		m.duration.WithLabelValues(string(outcome)).Observe(time.Since(placed).Seconds())
	}
}

// RebuildReadModel rebuilds the order read model from ordering's event
// history into a new table and swaps it in, while the live projection runs.
// It returns the number of events replayed.
func RebuildReadModel(ctx context.Context, db *pgxdb.DB) (int, error) {
	return pg.NewViews(db).Rebuild(ctx)
}

// Definition describes ordering to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    orderingapi.Surface,
	FX:         Module,
	Settings:   modkit.Settings(readSettings),
	Migrations: orderingmigrations.FS,
	// The busiest pool: order intake, the saga runner, the projections
	// into the read model and the customers' order lists all use it.
	DatabaseWeight: 2,
	Commands: []modkit.Command{{
		Name: "rebuild-read-models",
		Help: "rebuild the order read model from ordering's event history, while the application runs",
		Run: func(ctx context.Context, db *pgxdb.DB, log *zap.Logger) error {
			n, err := RebuildReadModel(ctx, db)
			if err == nil {
				log.Info("order read model rebuilt", zap.Int("events_replayed", n))
			}
			return err
		},
	}},
}
