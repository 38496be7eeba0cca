package pgxdb_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

var migrations = []pgxdb.MigrationSet{{VersionTable: "schema_version", FS: fstest.MapFS{
	"001_things.sql": {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY);`)},
	"002_more.sql":   {Data: []byte(`ALTER TABLE things ADD COLUMN name text;`)},
}}}

// Several processes starting at once bootstrap and migrate the same module
// without tripping over each other, and every one ends with a working pool.
func TestOpenIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := pgxdb.Open(ctx, dsn, "pgxdbtest", migrations, nil)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			_, err = db.Pool.Exec(ctx, `INSERT INTO things (id, name) VALUES ((random()*1e9)::int, 'x')`)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := pgxdb.Open(ctx, dsn, "pgxdbtest", migrations, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user, path string
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT current_user, current_setting('search_path'), (SELECT count(*) FROM things)`).Scan(&user, &path, &n); err != nil {
		t.Fatal(err)
	}
	if user != db.Role || !strings.HasSuffix(user, "_pgxdbtest") || path != "pgxdbtest" || n != 4 {
		t.Fatalf("user %s, search_path %s, %d rows", user, path, n)
	}
}

func TestOpenRejectsBadModuleNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "Catalog", "a-b", "x; DROP ROLE postgres", "1abc"} {
		if _, err := pgxdb.Open(context.Background(), "postgres://127.0.0.1/x", name, nil, nil); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}
