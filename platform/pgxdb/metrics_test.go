package pgxdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// A module's pool is on /metrics: its size, its connections by state, and
// how its acquires went.
func TestPoolCollector(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, pgtest.NewDatabase(t)+"&pool_max_conns=3", "pooled", migrations, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c := pgxdb.NewPoolCollector()
	c.Add(db)
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	want := `
# HELP db_pool_connections Connections of the module's pool, by state: acquired, idle, constructing, and max (its size).
# TYPE db_pool_connections gauge
db_pool_connections{module="pooled",state="acquired"} 1
db_pool_connections{module="pooled",state="constructing"} 0
db_pool_connections{module="pooled",state="idle"} 0
db_pool_connections{module="pooled",state="max"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "db_pool_connections"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "db_pool_acquires_total", "db_pool_empty_acquires_total", "db_pool_acquire_wait_seconds_total"); n != 3 {
		t.Errorf("%d acquire series, want 3", n)
	}
}
