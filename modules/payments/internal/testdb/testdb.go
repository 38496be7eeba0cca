// Package testdb gives the module's tests a payments database of their own:
// a fresh Postgres database (platform/pgtest) bootstrapped and migrated the
// way the module opens its own, so tests run against the real schema.
package testdb

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	paymentsmigrations "github.com/modmono/shop/migrations/payments"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// Open returns the payments database of a new, empty Postgres database,
// closed when the test ends.
func Open(tb testing.TB) *pgxdb.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := pgxdb.Open(ctx, pgtest.NewDatabase(tb), "payments", []pgxdb.MigrationSet{
		bus.Migrations(),
		{VersionTable: "schema_version", FS: paymentsmigrations.FS},
	}, zaptest.NewLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// Count runs a SELECT count(*) query and returns its result.
func Count(tb testing.TB, db *pgxdb.DB, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}
