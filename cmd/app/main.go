// Command app runs the shop: every module in one process by default, or the
// modules named by APP_MODULES. See README.md for the configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/internal/monolith"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/modules/ordering"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/logging"
)

const usage = `Usage: app [command]

Commands:
  serve     run the modules of APP_MODULES and serve HTTP (the default)
  migrate   apply the migrations of the modules of APP_MODULES, then exit
  rebuild-read-models
            empty the order read model and rebuild it from ordering's event
            history (ordering must be in APP_MODULES)

Configuration comes from environment variables (see README.md), e.g.
  APP_HTTP_ADDR=:8080 DATABASE_URL=postgres://... APP_MODULES=all APP_BUS=gochannel
With DATABASE_URL empty, a development Postgres is started under .data/postgres.
`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	command := "serve"
	switch fs.NArg() {
	case 0:
	case 1:
		command = fs.Arg(0)
	default:
		return fmt.Errorf("too many arguments; see app --help")
	}

	cfg, err := config.FromEnv(modules.Names())
	if err != nil {
		return err
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	switch command {
	case "serve":
		return serve(cfg, log)
	case "migrate":
		return migrate(cfg, log)
	case "rebuild-read-models":
		return rebuildReadModels(cfg, log)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q; see app --help", command)
}

func serve(cfg config.Config, log *zap.Logger) error {
	opts, err := monolith.Options(cfg, log, true)
	if err != nil {
		return err
	}
	app := fx.New(opts)
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	log.Info("shop is running", zap.Strings("modules", cfg.Modules), zap.String("bus", cfg.Bus), zap.String("env", cfg.Env))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	log.Info("signal received, shutting down", zap.Duration("grace", cfg.ShutdownGrace))
	stopCtx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	return app.Stop(stopCtx)
}

func migrate(cfg config.Config, log *zap.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dbs := host.NewDatabases(cfg, log)
	defer func() { _ = dbs.Close(context.WithoutCancel(ctx)) }()
	for _, m := range modules.All {
		if !cfg.Local(m.Name) {
			continue
		}
		if _, err := dbs.Open(ctx, m.Name, m.Migrations); err != nil {
			return err
		}
		log.Info("module schema is up to date", zap.String("module", m.Name))
	}
	return nil
}

func rebuildReadModels(cfg config.Config, log *zap.Logger) error {
	if !cfg.Local(ordering.Name) {
		return fmt.Errorf("the %s module is not in APP_MODULES; run this where it runs", ordering.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dbs := host.NewDatabases(cfg, log)
	defer func() { _ = dbs.Close(context.WithoutCancel(ctx)) }()
	db, err := dbs.Open(ctx, ordering.Name, ordering.Definition.Migrations)
	if err != nil {
		return err
	}
	n, err := ordering.RebuildReadModel(ctx, db)
	if err != nil {
		return err
	}
	log.Info("order read model rebuilt", zap.Int("events_replayed", n))
	return nil
}
