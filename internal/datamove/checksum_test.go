package datamove

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/platform/pgtest"
)

// The checksum hashes what Postgres can hash by value and the rest by its
// text, so a column of any type is covered, and it tells a changed, a
// missing and an extra row apart from the original content.
func TestChecksumCoversEveryColumnType(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA m;
		CREATE TABLE m.t (id bigint PRIMARY KEY, doc json, at point, tags text[], body jsonb, n numeric);
		INSERT INTO m.t VALUES (1, '{"a": 1}', '(1,2)', '{x,y}', '{"b": [1, 2]}', 1.5), (2, NULL, NULL, NULL, NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	ts, err := tables(ctx, conn, "m", []string{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("tables: %v %v", ts, err)
	}
	sum := func() TableCheck {
		t.Helper()
		c, err := checksum(ctx, conn, ts[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	original := sum()
	for _, change := range []string{
		`UPDATE m.t SET at = '(1,3)' WHERE id = 1`,
		`UPDATE m.t SET doc = '{"a": 2}' WHERE id = 1`,
		`UPDATE m.t SET tags = '{x}' WHERE id = 1`,
		`DELETE FROM m.t WHERE id = 2`,
		`INSERT INTO m.t (id) VALUES (3)`,
	} {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, change); err != nil {
			t.Fatal(err)
		}
		c, err := checksum(ctx, tx, ts[0])
		if err != nil {
			t.Fatal(err)
		}
		if c == original {
			t.Errorf("%s: the checksum did not change", change)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if again := sum(); again != original {
		t.Errorf("the same content gave %v, then %v", original, again)
	}
}

// A subscription connects to the source with the sslmode its DSN asked for.
func TestSSLModeIsHandedOn(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	for dsn, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=verify-full": "verify-full",
		"postgresql://u@h/db":                        "prefer",
		"host=h dbname=db sslmode=disable":           "disable",
		"host=h dbname=db sslmode='require' user=u":  "require",
		"host=h dbname=db":                           "prefer",
	} {
		if got := sslmode(dsn); got != want {
			t.Errorf("%s: sslmode %q, want %q", dsn, got, want)
		}
	}
}
