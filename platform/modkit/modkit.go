// Package modkit describes a module to the application that hosts it and to
// the extraction tool.
//
// Every fact about a module is declared once. What the rest of a deployment
// must know about it wherever it runs (its name, the APIs it calls, the
// events it publishes and consumes, its public routes, how to call it over
// HTTP) is its Surface, declared in its surface package <module>api; what
// only the process running it needs (its wiring, own settings, migrations,
// maintenance commands) is its Definition, declared in modules/<module>. Everything else
// is derived: the events it publishes from its event types, the modules that
// call it from the others' Calls, the start-up order from Calls, the broker
// topology from the consumers, the extraction guides and the context map
// from all of them.
package modkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/pgxdb"
)

// Surface is what every process of a deployment knows about one module.
type Surface struct {
	Name    string // lower-case, e.g. "catalog"; also its schema and its variables' <MODULE>
	Summary string // one line: what the module owns

	// Calls names the modules whose API this one calls synchronously. Its
	// code reaches each through <other>api.API and nothing else.
	Calls []string

	// Events are the versioned event types the module publishes, one zero
	// value per type and version, e.g. catalogapi.ProductCreatedV1{}. Each
	// has its JSON Schema checked in under <module>api/schemas.
	Events []bus.Event

	// Consumers are the module's durable event consumers: each a queue on
	// the broker that every process declares before it publishes the topic,
	// so an event waits there while the consuming process is down. A topic
	// of another module is named by its wire name (a surface imports no other
	// surface); a test checks that someone publishes it.
	Consumers []bus.Subscription

	// Routes are the chi patterns, under /api/v1, of the module's public
	// routes; a process where the module is remote forwards them to it.
	Routes []string

	// Remote provides the module's <module>api.API as a client of its remote
	// instances (APP_REMOTE_<MODULE>).
	Remote fx.Option
}

// Publishes returns the event types the module publishes, in the order of
// Events, each once.
func (s Surface) Publishes() []string {
	var types []string
	for _, e := range s.Events {
		if !slices.Contains(types, e.EventType()) {
			types = append(types, e.EventType())
		}
	}
	return types
}

// Consumes returns the event types the module's consumers read, each once.
func (s Surface) Consumes() []string {
	var types []string
	for _, c := range s.Consumers {
		if !slices.Contains(types, c.Topic) {
			types = append(types, c.Topic)
		}
	}
	return types
}

// Bind pairs the module's declared consumers with their handlers, keyed by
// consumer name. A declared consumer without a handler, or a handler for an
// undeclared consumer, is an error: the broker's queues and the process's
// handlers must be the same set.
func (s Surface) Bind(db *pgxdb.DB, handlers map[string]bus.HandlerFunc) ([]bus.Consumer, error) {
	var errs []error
	consumers := make([]bus.Consumer, 0, len(s.Consumers))
	for _, sub := range s.Consumers {
		h, ok := handlers[sub.Consumer]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: consumer %s of %s has no handler", s.Name, sub.Consumer, sub.Topic))
			continue
		}
		consumers = append(consumers, bus.Consumer{Name: sub.Consumer, Topic: sub.Topic, DB: db, Handle: h})
	}
	for _, name := range slices.Sorted(maps.Keys(handlers)) {
		if !slices.ContainsFunc(s.Consumers, func(sub bus.Subscription) bool { return sub.Consumer == name }) {
			errs = append(errs, fmt.Errorf("%s: handler %s is not among the consumers of its surface", s.Name, name))
		}
	}
	return consumers, errors.Join(errs...)
}

// StartOrder returns surfaces ordered so that each module comes after the
// modules it calls (their APIs must exist before its wiring asks for them).
// Among modules free to go next, the earlier in surfaces goes first. A call
// to an unknown module or a cycle of calls is an error.
func StartOrder(surfaces []Surface) ([]Surface, error) {
	names := make([]string, len(surfaces))
	for i, s := range surfaces {
		names[i] = s.Name
	}
	for _, s := range surfaces {
		for _, c := range s.Calls {
			if !slices.Contains(names, c) {
				return nil, fmt.Errorf("modkit: %s calls %q, which is no module (the modules are %v)", s.Name, c, names)
			}
		}
	}
	var ordered []Surface
	done := map[string]bool{}
	for len(ordered) < len(surfaces) {
		i := slices.IndexFunc(surfaces, func(s Surface) bool {
			return !done[s.Name] && !slices.ContainsFunc(s.Calls, func(c string) bool { return !done[c] })
		})
		if i < 0 {
			var left []string
			for _, s := range surfaces {
				if !done[s.Name] {
					left = append(left, s.Name)
				}
			}
			return nil, fmt.Errorf("modkit: the calls between %v form a cycle", left)
		}
		ordered = append(ordered, surfaces[i])
		done[surfaces[i].Name] = true
	}
	return ordered, nil
}

// CalledBy returns the names of the modules among surfaces that call module.
func CalledBy(surfaces []Surface, module string) []string {
	var by []string
	for _, s := range surfaces {
		if slices.Contains(s.Calls, module) {
			by = append(by, s.Name)
		}
	}
	return by
}

// Definition is what the process running a module knows about it: its
// surface and its private parts.
type Definition struct {
	Surface
	FX         fx.Option // its wiring (fx.Module)
	Migrations fs.FS     // its schema migrations

	// Settings reads and validates the module's own settings, only in a
	// process that runs it, and supplies them to FX; nil when it has none.
	// Declare it with the function Settings.
	Settings func(*config.Reader) fx.Option

	// Commands are the module's maintenance commands, run by the binary as
	// `app <name>` where the module runs.
	Commands []Command
}

// Settings declares a module's own settings: read reads them through r,
// reporting each bad value or broken rule to r (every problem of every
// module is listed at once at start-up), and its result is supplied to the
// module's wiring as a T.
func Settings[T any](read func(r *config.Reader) T) func(*config.Reader) fx.Option {
	return func(r *config.Reader) fx.Option { return fx.Supply(read(r)) }
}

// Command is a maintenance task of a module, run once against its database.
type Command struct {
	Name string // the command line word, e.g. "rebuild-read-models"
	Help string // one line for --help
	Run  func(ctx context.Context, db *pgxdb.DB, log *zap.Logger) error
}

// ModuleVersionTable is the version table of a module's own migrations, in
// its schema; the platform's messaging tables have bus's own.
const ModuleVersionTable = "schema_version"

// MigrationSets returns the migrations a module's schema gets, in order: the
// platform's outbox, inbox and dead letters (version table
// bus_schema_version), then the module's own migrations (version table
// schema_version). The host applies them at start-up and `extract data`
// builds a module's schema in its new database from them, so both create
// the same tables.
func MigrationSets(migrations fs.FS) []pgxdb.MigrationSet {
	return []pgxdb.MigrationSet{bus.Migrations(), {VersionTable: ModuleVersionTable, FS: migrations}}
}

// MigrationSets returns the migrations of d's schema; see the function
// MigrationSets.
func (d Definition) MigrationSets() []pgxdb.MigrationSet { return MigrationSets(d.Migrations) }
