package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/health"
	"github.com/modmono/shop/platform/httpx"
)

// Platform provides the shared runtime for cfg.
func Platform(cfg config.Config, log *zap.Logger) fx.Option {
	return fx.Options(
		fx.Supply(cfg, log),
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.ZapLogger{Logger: log.Named("fx")}
			l.UseLogLevel(zapcore.DebugLevel)
			return l
		}),
		fx.Provide(
			newRegistry,
			func() *health.Registry { return &health.Registry{} },
			newBus,
			newDatabases,
			newHTTP,
			newGuard,
		),
	)
}

// newGuard returns the guard of a process without the identity module:
// open in development, refused in production.
func newGuard(cfg config.Config, log *zap.Logger) (auth.Guard, error) {
	if !cfg.Dev() {
		return nil, errors.New("APP_ENV=prod: no identity module provides authentication, so admin routes would be open")
	}
	log.Warn("no identity module: admin routes are open to everyone (development only)")
	return auth.Open{}, nil
}

// Registry is the process's Prometheus registry.
type Registry struct {
	*prometheus.Registry
}

func newRegistry() (*Registry, prometheus.Registerer) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg}, reg
}

func newBus(cfg config.Config, log *zap.Logger, reg prometheus.Registerer, hr *health.Registry) (*bus.Bus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := bus.NewTransport(ctx, cfg.Bus, cfg.AMQPURL, bus.WatermillLogger(log))
	if err != nil {
		return nil, err
	}
	hr.Add(health.Check{Name: "bus", Run: tr.Ping})
	return bus.New(bus.Config{}, tr, log, reg), nil
}

func newDatabases(cfg config.Config, log *zap.Logger, b *bus.Bus, hr *health.Registry) *Databases {
	d := NewDatabases(cfg, log)
	d.bus, d.health = b, hr
	return d
}

// Run starts the bus once every module has registered its consumers and
// relays, and at stop drains the bus before closing the databases. Give it
// after the modules and before Serve.
func Run(lc fx.Lifecycle, b *bus.Bus, dbs *Databases) {
	lc.Append(fx.Hook{
		OnStart: b.Start,
		OnStop: func(ctx context.Context) error {
			return errors.Join(b.Stop(ctx), dbs.Close(ctx))
		},
	})
}

// HTTP holds the root router and the /api/v1 router modules mount on.
type HTTP struct {
	Root chi.Router
	API  chi.Router
}

func newHTTP(cfg config.Config, log *zap.Logger, reg *Registry, hr *health.Registry, b *bus.Bus, guard auth.Guard) *HTTP {
	root := httpx.NewRouter(httpx.Options{Logger: log.Named("http"), Registerer: reg})
	root.Method(http.MethodGet, "/health/live", health.Live())
	root.Method(http.MethodGet, "/health/ready", health.Handler(hr, health.HandlerOptions{Verbose: cfg.Dev()}))
	root.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	api := chi.NewRouter()
	root.Mount("/api/v1", api)
	mountDeadLetters(api.With(guard.Require(auth.Admin)), b, log)
	return &HTTP{Root: root, API: api}
}

// Serve starts the HTTP server once everything else has started and shuts
// it down gracefully first. Give it as the last fx option.
func Serve(lc fx.Lifecycle, cfg config.Config, h *HTTP, log *zap.Logger) {
	srv := httpx.Server(cfg.HTTPAddr, h.Root)
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", cfg.HTTPAddr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
			}
			log.Info("serving HTTP", zap.String("addr", ln.Addr().String()))
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("HTTP server stopped", zap.Error(err))
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			log.Info("shutting down: draining HTTP requests")
			return srv.Shutdown(ctx)
		},
	})
}
