// Package apptest starts the whole application in process for a test, as
// cmd/app builds it (process.Options with every module) but without the
// listening server, on a fresh database of its own.
package apptest

import (
	"context"
	"maps"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/pgtest"
)

// Start runs the application configured by env over the defaults below,
// fills targets as fx.Populate does, and stops it when the test ends.
// Defaults: a fresh database with small pools (the test Postgres is
// shared), a data folder of the test's own, no demo data.
func Start(t testing.TB, env map[string]string, targets ...any) {
	t.Helper()
	StartWith(t, env, fx.Options(), targets...)
}

// StartWith is Start with extra fx options (a test's span processor, say).
func StartWith(t testing.TB, env map[string]string, extra fx.Option, targets ...any) {
	t.Helper()
	all := map[string]string{
		"DATABASE_URL":  pgtest.NewDatabase(t) + "&pool_max_conns=2",
		"APP_DATA_DIR":  t.TempDir(),
		"APP_SEED_DEMO": "false",
	}
	maps.Copy(all, env)
	cfg, err := process.Load(func(k string) string { return all[k] }, modules.All)
	if err != nil {
		t.Fatal(err)
	}
	opts := process.Options(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), modules.All, false)
	app := fx.New(opts, extra, fx.Populate(targets...), fx.NopLogger)
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}
