package modules_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// Every module's role is denied every other module's schema: it can neither
// read nor write a table there, nor create one.
func TestModuleRolesCannotReachOtherSchemas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)}[k]
	}, modules.Names())
	if err != nil {
		t.Fatal(err)
	}
	dbs, err := host.NewDatabases(cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbs.Close(context.Background()) })
	opened := map[string]*pgxdb.DB{}
	for _, m := range modules.All {
		db, err := dbs.Open(ctx, m.Name, m.Migrations)
		if err != nil {
			t.Fatal(err)
		}
		opened[m.Name] = db
	}
	for owner, ownerDB := range opened {
		rows, err := ownerDB.Pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, owner)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(tables) == 0 {
			t.Fatalf("%s has no tables (%v)", owner, err)
		}
		for intruder, db := range opened {
			if intruder == owner {
				continue
			}
			for _, table := range tables {
				qualified := pgx.Identifier{owner, table}.Sanitize()
				for _, sql := range []string{
					"SELECT * FROM " + qualified + " LIMIT 1",
					"DELETE FROM " + qualified,
				} {
					t.Run(fmt.Sprintf("%s on %s", intruder, sql), func(t *testing.T) {
						_, err := db.Pool.Exec(ctx, sql)
						requireDenied(t, err)
					})
				}
			}
			t.Run(intruder+" creates in "+owner, func(t *testing.T) {
				_, err := db.Pool.Exec(ctx, "CREATE TABLE "+pgx.Identifier{owner, "intruder"}.Sanitize()+" (id int)")
				requireDenied(t, err)
			})
		}
	}
}

func requireDenied(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
		t.Fatalf("want permission denied, got %v", err)
	}
}
