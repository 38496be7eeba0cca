// Package doccheck keeps the repository's documentation true to the code.
// It has no code of its own, only tests, which read Go source with go/parser
// and compare it with the Markdown files:
//
//   - every environment variable platform/config/config.go reads appears in
//     the configuration table of README.md (the OpenTelemetry SDK's OTEL_*
//     ones in docs/tracing.md), and every APP_* or *_URL variable in that
//     table is read by config.go;
//   - every route a module registers in modules/<m>/internal/ports/httpport
//     appears, as "METHOD /api/v1/path", in README.md and in the module's
//     own modules/<m>/README.md.
//
// When a test fails, update the documentation (or the code) so that both
// say the same thing.
package doccheck
