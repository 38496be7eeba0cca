// Package problems explains every problem type the API answers. A problem's
// type is TypePrefix+code ("/problems/ordering.idempotency_key_missing", see
// platform/problem), and Mount serves a page for each code at that path, so
// the type URI of an answer leads a person to what went wrong and what to do.
//
// The explanations have one source: the doc comment of each error's
// declaration (the apperr.New of its code, next to the code that returns
// it). A test of this package reads those comments with go/parser and fails
// when problems.json, the catalogue this package embeds, or
// docs/problems.md, its Markdown twin, no longer match them; run
//
//	go test ./internal/problems -update
//
// to write both again. The binary never parses Go source: it serves the
// embedded catalogue.
package problems
