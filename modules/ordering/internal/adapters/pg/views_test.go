package pg_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	orderingmigrations "github.com/modmono/shop/migrations/ordering"
	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

func openOrdering(t *testing.T) *pgxdb.DB {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), pgtest.NewDatabase(t)+"&pool_max_conns=4", "ordering",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: orderingmigrations.FS}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func state(id uuid.UUID, revision int, status string) orderingapi.OrderStateV1 {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return orderingapi.OrderStateV1{OrderID: id, CustomerID: id, Status: status, Items: []orderingapi.Line{},
		Total: int64(revision), Currency: "EUR", Revision: revision, CreatedAt: now, UpdatedAt: now}
}

// record commits a state change as ordering does: its history row, in the
// change's transaction. The live projection of its event comes later.
func record(ctx context.Context, db *pgxdb.DB, s orderingapi.OrderStateV1) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = db.Pool.Exec(ctx, `INSERT INTO order_history (order_id, type, state) VALUES ($1, 'ordering.order_placed', $2)`, s.OrderID, b)
	return err
}

// project is the live projection of one event, as the bus consumer runs it:
// a transaction with a deadline shorter than the rebuild, so a projection
// the rebuild blocks fails.
func project(ctx context.Context, db *pgxdb.DB, s orderingapi.OrderStateV1) error {
	return db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		return pg.Apply(ctx, tx, s)
	})
}

// Orders placed and changed while the read model is rebuilt all end up in
// it, at their latest revision, and their live projection is never held up
// by the rebuild; a row the old model had wrong is corrected.
func TestRebuildKeepsConcurrentEvents(t *testing.T) {
	t.Parallel()
	db := openOrdering(t)
	ctx := context.Background()

	// A history big enough that a rebuild takes a while.
	const old = 30000
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO order_history (order_id, type, state)
		SELECT id, 'ordering.order_placed', jsonb_build_object('order_id', id, 'customer_id', id, 'status', 'placed',
			'items', '[]'::jsonb, 'total', 1, 'currency', 'EUR', 'revision', 1, 'created_at', now(), 'updated_at', now())
		FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1)) g`, old); err != nil {
		t.Fatal(err)
	}
	var corrupt uuid.UUID
	if err := db.Pool.QueryRow(ctx, `SELECT order_id FROM order_history LIMIT 1`).Scan(&corrupt); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO order_views (id, customer_id, status, items, total, currency, revision, created_at, updated_at)
		VALUES ($1, $1, 'bogus', '[]', 0, 'EUR', 1, now(), now())`, corrupt); err != nil {
		t.Fatal(err)
	}

	// Orders placed, then confirmed, while the rebuild runs.
	done := make(chan struct{})
	var placed sync.Map // id -> latest revision
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				id := uuid.New()
				for rev, status := range []string{"placed", "confirmed"} {
					s := state(id, rev+1, status)
					if err := record(ctx, db, s); err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Errorf("worker %d record: %w", w, err))
						return
					}
					if err := project(ctx, db, s); err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Errorf("worker %d project: %w", w, err))
					}
					placed.Store(id, rev+1)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // orders flowing before the rebuild starts
	n, err := pg.NewViews(db).Rebuild(ctx)
	time.Sleep(100 * time.Millisecond) // and after it
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d live projections failed during the rebuild; first: %v", f, firstErr.Load())
	}
	if n < old {
		t.Fatalf("rebuild replayed %d events, want at least %d", n, old)
	}

	count := 0
	placed.Range(func(k, v any) bool {
		count++
		var rev int
		var status string
		err := db.Pool.QueryRow(ctx, `SELECT revision, status FROM order_views WHERE id = $1`, k).Scan(&rev, &status)
		if err != nil || rev != v.(int) {
			t.Errorf("order %v placed during the rebuild: revision %d status %q (%v), want revision %d", k, rev, status, err, v)
		}
		return true
	})
	if count == 0 {
		t.Fatal("no order was placed during the rebuild")
	}
	var views int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM order_views`).Scan(&views); err != nil {
		t.Fatal(err)
	}
	if views != old+count {
		t.Fatalf("%d views, want %d", views, old+count)
	}
	var status string
	if err := db.Pool.QueryRow(ctx, `SELECT status FROM order_views WHERE id = $1`, corrupt).Scan(&status); err != nil || status != "placed" {
		t.Fatalf("the corrupt row is %q (%v) after the rebuild", status, err)
	}
	// The table keeps its indexes, under their names, for later migrations.
	var indexes []string
	rows, _ := db.Pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'order_views' AND schemaname = current_schema() ORDER BY 1`)
	indexes, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || fmt.Sprint(indexes) != "[order_views_customer order_views_pkey]" {
		t.Fatalf("indexes after the rebuild: %v (%v)", indexes, err)
	}
	t.Logf("%d orders placed during a rebuild of %d events", count, n)
}
