// Package modkit describes a module to the application that hosts it and to
// the extraction tool: its name, its wiring, its schema and its dependencies.
package modkit

import (
	"io/fs"

	"go.uber.org/fx"

	"github.com/modmono/shop/platform/bus"
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
}
