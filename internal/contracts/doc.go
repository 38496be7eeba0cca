// Package contracts holds the event contract gate: tests that keep every
// published event version's JSON Schema checked in and unchanged, and the
// event catalogue docs/events.md current.
//
// Each module lists its versioned event types in its modkit.Surface (Events).
// For each, the schema generated from the Go type must equal the file
// modules/<m>/<m>api/schemas/<type>.v<version>.json. A published version
// never changes except by an optional property (SPEC §5): any other change
// fails, and the fix is a new version with its own type and schema, which
// consumers upcast. After a new event or an optional property, run
//
//	go test ./internal/contracts -update
//
// to write the schema files and docs/events.md, then commit them.
package contracts
