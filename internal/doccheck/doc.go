// Package doccheck keeps the repository's documentation true to the code.
// It has no code of its own, only tests, which read Go source with go/parser
// (and the Makefile), or ask the code itself, and compare it with the
// Markdown files:
//
//   - every environment variable a process reads, the process settings of
//     platform/config and each module's own settings, as declared (read as
//     cmd/app reads them, with every module running), appears in the table
//     of docs/configuration.md (the OpenTelemetry SDK's OTEL_* ones in
//     docs/tracing.md), and every APP_* or *_URL variable in that table is
//     read;
//   - every route a module registers in modules/<m>/internal/ports/httpport
//     appears, as "METHOD /api/v1/path", in docs/api.md and in the module's
//     own modules/<m>/README.md;
//   - every make target, every command of cmd/app (serve, migrate and the
//     modules' commands) and every command of cmd/extract appears in
//     docs/commands.md;
//   - every relative link of README.md and of docs/ leads to a file, every
//     page under docs/ is in README.md's map, and README.md stays a front
//     door of at most 200 lines;
//   - no shell block of README.md or docs/ holds a literal ID or an
//     ellipsis: commands paste and run as they are;
//   - every shell block of docs/demo.md runs, in order, against a fresh shop
//     and prints what the page shows (TestDemoWalkthrough).
//
// When a test fails, update the documentation (or the code) so that both
// say the same thing.
package doccheck
