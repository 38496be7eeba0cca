// Package migrations holds the ordering schema's migrations.
package migrations

import "embed"

// FS holds the migration files, applied in order by pgxdb.
//
//go:embed *.sql
var FS embed.FS
