package bus_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// What waits in a relayed module's outbox and dead letters is on /metrics
// from the start (0), and an event nobody relays shows as a backlog with an
// age: a stuck relay is visible.
func TestOutboxBacklogAndDeadLettersAreGauges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, pgtest.NewDatabase(t)+"&pool_max_conns=2", "producer",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: producerTables}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	reg := prometheus.NewRegistry()
	b := bus.New(bus.Config{}, bus.NewGoChannel(nil), nil, reg) // not started: nothing relays
	b.Relay(db)

	want := `
# HELP bus_dead_letters Dead letters the module holds (listed and replayed through the admin API).
# TYPE bus_dead_letters gauge
bus_dead_letters{module="producer"} 0
# HELP bus_outbox_backlog Events in the module's outbox not yet relayed.
# TYPE bus_outbox_backlog gauge
bus_outbox_backlog{module="producer"} 0
# HELP bus_outbox_publish_failures_total Failed outbox publish attempts, by module.
# TYPE bus_outbox_publish_failures_total counter
bus_outbox_publish_failures_total{module="producer"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bus_outbox_backlog", "bus_dead_letters", "bus_outbox_publish_failures_total"); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		return bus.Outbox{}.Add(ctx, tx, noted{topic: "producer.noted", Key: "k", N: 1}, noted{topic: "producer.noted", Key: "k", N: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE outbox SET created_at = now() - interval '90 seconds'`); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	if got["bus_outbox_backlog"] != 2 || got["bus_outbox_oldest_age_seconds"] < 90 {
		t.Errorf("backlog %v, oldest age %v s; want 2 and at least 90", got["bus_outbox_backlog"], got["bus_outbox_oldest_age_seconds"])
	}
}
