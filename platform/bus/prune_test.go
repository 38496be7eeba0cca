package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// Dead letters older than the retention are deleted by the module's active
// relay, counted on /metrics; younger ones stay for inspection and replay.
func TestRelayPrunesOldDeadLetters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, pgtest.NewDatabase(t)+"&pool_max_conns=2", "producer",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: producerTables}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	old, young := uuid.New(), uuid.New()
	for id, age := range map[uuid.UUID]string{old: "3 days", young: "1 hour"} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO dead_letters (id, handler, topic, message_id, body, error, attempts, failed_at)
			VALUES ($1, 'h', 't', $2, '\x00', 'boom', 6, now() - $3::interval)`, id, uuid.New(), age); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	b := bus.New(bus.Config{DeadLetterRetention: 48 * time.Hour}, bus.NewGoChannel(nil), zaptest.NewLogger(t), reg)
	b.Relay(db)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop(context.Background()) })

	deadline := time.Now().Add(10 * time.Second)
	for {
		var oldLeft, youngLeft bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM dead_letters WHERE id = $1), EXISTS (SELECT FROM dead_letters WHERE id = $2)`,
			old, young).Scan(&oldLeft, &youngLeft); err != nil {
			t.Fatal(err)
		}
		if !youngLeft {
			t.Fatal("a dead letter younger than the retention was deleted")
		}
		if !oldLeft {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead letter older than the retention is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := `
# HELP bus_dead_letters_pruned_total Dead letters deleted for being older than the retention, by module.
# TYPE bus_dead_letters_pruned_total counter
bus_dead_letters_pruned_total{module="producer"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bus_dead_letters_pruned_total"); err != nil {
		t.Fatal(err)
	}
}

// The prunes find their rows through an index, not a scan of the table:
// every module schema has one on inbox.processed_at and on
// dead_letters.failed_at.
func TestPrunedColumnsAreIndexed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, pgtest.NewDatabase(t)+"&pool_max_conns=2", "producer",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: producerTables}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	for table, column := range map[string]string{"inbox": "processed_at", "dead_letters": "failed_at"} {
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = $1::regclass AND a.attname = $2`, table, column).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("no index leads with %s.%s", table, column)
		}
	}
}
