package process

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/logging"
	"github.com/modmono/shop/platform/modkit"
)

// Main runs the command line of a binary called name that links the modules
// of linked: serve (the default), migrate, the modules' own commands, help.
// It exits the process with status 1 on error.
func Main(name string, linked []modkit.Definition) {
	if err := Run(name, linked, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run is Main without the exit, for tests. A command followed by -h or
// --help prints that command's usage on stdout. An error that stops the
// process comes back as one line naming its cause and what to do; its whole
// chain is logged at debug level (APP_LOG_LEVEL=debug).
func Run(name string, linked []modkit.Definition, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, usage(name, linked)) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	command := "serve"
	rest := fs.Args()
	if len(rest) > 0 {
		command, rest = rest[0], rest[1:]
	}
	if command == "help" {
		fmt.Fprint(stdout, usage(name, linked))
		return nil
	}
	var module *modkit.Definition
	var moduleCmd modkit.Command
	for i, m := range linked {
		for _, c := range m.Commands {
			if c.Name == command {
				module, moduleCmd = &linked[i], c
			}
		}
	}
	if command != "serve" && command != "migrate" && module == nil {
		return fmt.Errorf("unknown command %q; see %s --help", command, name)
	}
	if len(rest) > 0 {
		if slices.Contains([]string{"-h", "-help", "--help", "help"}, rest[0]) && len(rest) == 1 {
			fmt.Fprint(stdout, commandUsage(name, command, module, moduleCmd))
			return nil
		}
		return fmt.Errorf("%s takes no arguments; see %s %s --help", command, name, command)
	}
	cfg, err := Load(os.Getenv, linked)
	if err != nil {
		line := strings.Replace(oneLine(err.Error()), "invalid configuration; ", "invalid configuration: ", 1)
		return &failure{line: line + "; docs/configuration.md describes every variable", err: err}
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	switch command {
	case "serve":
		err = serve(cfg, log, linked, stdout)
	case "migrate":
		err = migrate(cfg.Config, log, linked)
	default:
		err = moduleCommand(cfg.Config, log, *module, moduleCmd)
	}
	if err != nil {
		log.Debug("the process stopped on an error", zap.String("command", command), zap.Error(err))
	}
	return explain(err, cfg.Config)
}

// commands describes the commands every binary takes.
var commands = map[string]string{
	"serve":   "run the modules of APP_MODULES and serve HTTP until SIGINT or SIGTERM (the default)",
	"migrate": "apply the migrations of the modules of APP_MODULES, then exit",
}

func usage(name string, linked []modkit.Definition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [command]\n       %s COMMAND --help\n\nCommands:\n", name, name)
	fmt.Fprintf(&b, "  serve     %s\n", commands["serve"])
	fmt.Fprintf(&b, "  migrate   %s\n", commands["migrate"])
	for _, m := range linked {
		for _, c := range m.Commands {
			fmt.Fprintf(&b, "  %s\n            %s (%s must be in APP_MODULES)\n", c.Name, c.Help, m.Name)
		}
	}
	var names []string
	for _, m := range linked {
		names = append(names, m.Name)
	}
	fmt.Fprintf(&b, "\nThis binary contains the modules: %s.\n%s", strings.Join(names, ", "), configHelp)
	return b.String()
}

// commandUsage is the --help of one command.
func commandUsage(name, command string, module *modkit.Definition, c modkit.Command) string {
	what := commands[command]
	if module != nil {
		what = fmt.Sprintf("%s; the %s module must be in APP_MODULES", c.Help, module.Name)
	}
	return fmt.Sprintf("Usage: %s %s\n\n%s.\n%s", name, command, upperFirst(what), configHelp)
}

const configHelp = `
Configuration comes from environment variables (docs/configuration.md), e.g.
  APP_HTTP_ADDR=:8080 DATABASE_URL=postgres://... APP_MODULES=all APP_BUS=gochannel
A module that does not run here is reached at APP_REMOTE_<MODULE> (one or more base URLs).
With DATABASE_URL empty, a development Postgres is started under .data/postgres.
`

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func serve(cfg Config, log *zap.Logger, linked []modkit.Definition, stdout io.Writer) error {
	// A busy address fails the start at once, before any database is
	// touched; the server listens for real once everything else runs.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	if err := ln.Close(); err != nil {
		return err
	}
	app := fx.New(Options(cfg, log, linked, true))
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	// The start's one-off work is garbage now (the admin seeding's argon2
	// check alone took 19 MiB), but an idle process would neither collect it
	// nor hand it back to the OS for minutes: do both now, once.
	debug.FreeOSMemory()
	log.Info("shop is running", zap.Strings("modules", cfg.Modules), zap.Strings("remote", slices.Sorted(maps.Keys(cfg.Remotes))),
		zap.String("bus", cfg.Bus), zap.String("env", cfg.Env))
	if cfg.Dev() {
		// Next to the admin login, so whoever ran make run knows where to look.
		fmt.Fprintf(stdout, "the shop is running: %s (API %sapi/v1, console %sconsole); Ctrl-C stops it\n",
			browseURL(cfg.HTTPAddr), browseURL(cfg.HTTPAddr), browseURL(cfg.HTTPAddr))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	log.Info("signal received, shutting down", zap.Duration("grace", cfg.ShutdownGrace))
	stopCtx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	return app.Stop(stopCtx)
}

func migrate(cfg config.Config, log *zap.Logger, linked []modkit.Definition) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dbs, err := host.NewDatabases(cfg, log, databaseWeights(linked))
	if err != nil {
		return err
	}
	defer func() { _ = dbs.Close(context.WithoutCancel(ctx)) }()
	for _, m := range linked {
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

func moduleCommand(cfg config.Config, log *zap.Logger, m modkit.Definition, c modkit.Command) error {
	if !cfg.Local(m.Name) {
		return fmt.Errorf("the %s module is not in APP_MODULES; run this where it runs", m.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dbs, err := host.NewDatabases(cfg, log, databaseWeights([]modkit.Definition{m}))
	if err != nil {
		return err
	}
	defer func() { _ = dbs.Close(context.WithoutCancel(ctx)) }()
	db, err := dbs.Open(ctx, m.Name, m.Migrations)
	if err != nil {
		return err
	}
	return c.Run(ctx, db, log)
}

// browseURL is the address a person on this machine opens for a listen
// address: ":8080" and "0.0.0.0:8080" are http://127.0.0.1:8080/.
func browseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
