// Package payments is the payments bounded context: event-sourced payment
// streams, charged through a fake provider behind an anti-corruption layer.
// See README.md for its language, rules and events.
package payments

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	paymentsmigrations "github.com/modmono/shop/migrations/payments"
	"github.com/modmono/shop/modules/payments/internal/adapters/pg"
	"github.com/modmono/shop/modules/payments/internal/app"
	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/internal/ports/httpport"
	"github.com/modmono/shop/modules/payments/internal/provider"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

// Name is the module's name, schema and configuration prefix.
const Name = paymentsapi.Name

// Module wires payments: its database, the guarded provider, its service
// behind paymentsapi.API, and its routes.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, paymentsmigrations.FS) },
		// The app layer knows its store by the interface it owns.
		func(db *pgxdb.DB) app.Payments { return pg.NewPayments(db) },
		newProvider,
		func(payments app.Payments, p domain.Provider) *app.Service { return app.New(payments, p, nil) },
	),
	fx.Provide(func(s *app.Service) paymentsapi.API { return paymentsapi.Traced(s) }),
	fx.Invoke(func(h *host.HTTP, api paymentsapi.API, guard *auth.Guard, log *zap.Logger) {
		httpport.Mount(h.API, api, guard, log.Named(Name))
	}),
	host.ServeAPI[paymentsapi.API](Name), // for modules in other processes
)

// Settings are payments' own settings, read only where it runs.
type Settings struct {
	PaymentTimeout time.Duration // APP_PAYMENT_TIMEOUT (paymentsapi.Timeout)
}

func readSettings(r *config.Reader) Settings {
	return Settings{PaymentTimeout: paymentsapi.Timeout(r)}
}

// newProvider is the development provider behind the guard: each call is
// limited to APP_PAYMENT_TIMEOUT, and tok_slow answers after twice that, so
// it always times out.
func newProvider(s Settings, reg prometheus.Registerer, log *zap.Logger) (domain.Provider, error) {
	fake := provider.NewFake(2 * s.PaymentTimeout)
	return provider.NewGuard(fake, provider.GuardConfig{Timeout: s.PaymentTimeout}, reg, log.Named(Name))
}

// Definition describes payments to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    paymentsapi.Surface,
	FX:         Module,
	Settings:   modkit.Settings(readSettings),
	Migrations: paymentsmigrations.FS,
}
