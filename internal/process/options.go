// Package process assembles one process of the shop from configuration: the
// platform, the modules of APP_MODULES that this binary links, clients of
// the modules that run elsewhere, the gateway, the web UI and the server.
// The monolith (cmd/app) and every extracted binary run it.
package process

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/internal/admin"
	"github.com/modmono/shop/internal/bff"
	"github.com/modmono/shop/internal/gateway"
	"github.com/modmono/shop/internal/openapi"
	"github.com/modmono/shop/internal/problems"
	"github.com/modmono/shop/internal/seed"
	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/health"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
	"github.com/modmono/shop/web"
)

// Options returns the fx options of a process running cfg's modules, taken
// from linked. With serve false the HTTP server is not started (tests drive
// host.HTTP directly).
func Options(cfg Config, log *zap.Logger, linked []modkit.Definition, serve bool) fx.Option {
	opts := []fx.Option{host.Platform(cfg.Config, log, surfaces.Topology()), cfg.settings}
	for _, m := range linked {
		if cfg.Local(m.Name) {
			opts = append(opts, m.FX)
		}
	}
	for _, s := range surfaces.All {
		if !cfg.Local(s.Name) {
			opts = append(opts, s.Remote, fx.Invoke(forward(s)))
		}
	}
	opts = append(opts,
		gateway.Module,
		bff.Module,
		fx.Invoke(func(h *host.HTTP) { h.Root.Method("GET", "/api/openapi.json", openapi.Handler()) }),
		fx.Invoke(func(h *host.HTTP, log *zap.Logger) { problems.Mount(h.Root, log.Named("problems")) }),
		fx.Invoke(func(h *host.HTTP) { h.Root.Handle("/*", web.Handler()) }),
		fx.Invoke(host.Run),
		admin.Module, // after host.Run: its event hub stops before the bus
		fx.StartTimeout(3*time.Minute),
		fx.StopTimeout(cfg.ShutdownGrace),
	)
	if cfg.SeedDemo && cfg.Local("catalog") {
		opts = append(opts, host.Work(seedDemo))
	}
	if serve {
		opts = append(opts, fx.Invoke(host.Serve)) // last: the server starts last and stops first
	}
	return fx.Options(opts...)
}

// forward mounts the public routes of a remote module as a proxy to it: the
// strangler fig's routing, so clients see the same API wherever it runs.
func forward(s modkit.Surface) func(*host.HTTP, *rpc.Remotes) error {
	return func(h *host.HTTP, remotes *rpc.Remotes) error {
		c, err := remotes.Client(s.Name)
		if err != nil {
			return err
		}
		proxy := c.Proxy()
		for _, pattern := range s.Routes {
			h.API.Handle(pattern, proxy)
		}
		return nil
	}
}

// seedDemo fills an empty catalog with demo products once the process runs.
// The process is ready only once they are there, so a person (or a script)
// waiting for /health/ready finds a shop to browse.
func seedDemo(catalog catalogapi.API, inventory inventoryapi.API, hr *health.Registry, log *zap.Logger) host.Worker {
	var seeded atomic.Bool
	hr.Add(health.Check{Name: "demo-data", Run: func(context.Context) error {
		if !seeded.Load() {
			return errors.New("the demo products are not seeded yet")
		}
		return nil
	}})
	return func(ctx context.Context) {
		if err := seed.Demo(ctx, catalog, inventory, log); err != nil {
			if ctx.Err() == nil {
				log.Error("cannot seed demo products", zap.Error(err))
			}
			return
		}
		seeded.Store(true)
	}
}
