// Package modkit describes a module to the application that hosts it and to
// the extraction tool: its name, its wiring, its schema and its dependencies.
package modkit

import (
	"context"
	"io/fs"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Definition is what a module tells the rest of the system about itself.
type Definition struct {
	Name       string    // lower-case, e.g. "catalog"; also its schema and its env var prefix
	Summary    string    // one line: what the module owns
	FX         fx.Option // its wiring (fx.Module)
	Migrations fs.FS     // its schema migrations
	Calls      []string  // modules whose API it calls synchronously
	Publishes  []string  // event types it publishes
	Consumes   []string  // event types it consumes

	// Events are the versioned event types the module publishes, one zero
	// value per type and version, e.g. catalogapi.ProductCreatedV1{}. Each
	// must have its JSON Schema checked in under <module>api/schemas; the
	// tests in internal/contracts generate and compare them.
	Events []bus.Event

	// Commands are the module's maintenance commands, run by the binary as
	// `app <name>` where the module runs.
	Commands []Command
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
