// Package contract turns event types into JSON Schema documents and tells
// whether a changed schema still serves the consumers of a published one.
//
// An event version is a contract (SPEC §5): once published it never changes,
// except by adding optional properties; anything else is a new version.
// Generate reads a Go event type by reflection, as encoding/json would encode
// it, and Marshal writes the schema in one deterministic form, so a schema
// can be checked in and diffed. Compare lists what a new schema breaks for
// readers of an old one. The package uses the standard library only.
package contract
