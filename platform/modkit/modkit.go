// Package modkit describes a module to the application that hosts it and to
// the extraction tool: its name, its wiring, its schema and its dependencies.
package modkit

import (
	"io/fs"

	"go.uber.org/fx"
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
}
