// Package monolith assembles one process of the shop from configuration:
// the platform, the modules of APP_MODULES, the web UI and the server.
package monolith

import (
	"context"
	"errors"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/internal/gateway"
	"github.com/modmono/shop/internal/openapi"
	"github.com/modmono/shop/internal/seed"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/web"
)

// Options returns the fx options of a process running cfg's modules. With
// serve false the HTTP server is not started (tests drive host.HTTP directly).
func Options(cfg config.Config, log *zap.Logger, serve bool) (fx.Option, error) {
	if len(cfg.Remotes) > 0 {
		return nil, errors.New("APP_REMOTE_* is set, but calling modules in other processes is not available in this build yet")
	}
	opts := []fx.Option{host.Platform(cfg, log)}
	for _, m := range modules.All {
		if cfg.Local(m.Name) {
			opts = append(opts, m.FX)
		}
	}
	opts = append(opts,
		gateway.Module,
		fx.Invoke(func(h *host.HTTP) { h.Root.Method("GET", "/api/openapi.json", openapi.Handler()) }),
		fx.Invoke(func(h *host.HTTP) { h.Root.Handle("/*", web.Handler()) }),
		fx.Invoke(host.Run),
		fx.StartTimeout(3*time.Minute),
		fx.StopTimeout(cfg.ShutdownGrace),
	)
	if cfg.SeedDemo && cfg.Local("catalog") && cfg.Local("inventory") {
		opts = append(opts, fx.Invoke(seedDemo))
	}
	if serve {
		opts = append(opts, fx.Invoke(host.Serve)) // last: the server starts last and stops first
	}
	return fx.Options(opts...), nil
}

// seedDemo fills an empty catalog with demo products once the process runs.
func seedDemo(w *host.Workers, catalog catalogapi.API, inventory inventoryapi.API, log *zap.Logger) {
	w.Add(func(ctx context.Context) {
		if err := seed.Demo(ctx, catalog, inventory, log); err != nil && ctx.Err() == nil {
			log.Error("cannot seed demo products", zap.Error(err))
		}
	})
}
