package pgtest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modmono/shop/platform/pgxdb"
)

// Trips counts what a database handle asks of Postgres: round trips (one
// per statement, or per batch of statements sent at once) and commits.
// Those, not the work per statement, are what an operation costs here.
type Trips struct {
	mu    sync.Mutex
	trips []string // one per round trip: the statement, or the batch's joined by "; "
}

// Counting returns a handle on db's database whose pool of one connection
// reports to the returned Trips. One connection keeps its prepared
// statements: after a first run, every statement is a single round trip.
func Counting(tb testing.TB, db *pgxdb.DB) (*pgxdb.DB, *Trips) {
	tb.Helper()
	t := &Trips{}
	cfg := db.Pool.Config()
	cfg.MaxConns, cfg.MinConns = 1, 0
	cfg.ConnConfig.Tracer = t
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return &pgxdb.DB{Module: db.Module, Schema: db.Schema, Role: db.Role, Pool: pool}, t
}

// Reset forgets what was counted so far.
func (t *Trips) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.trips = nil
}

// Count returns the round trips and the commits since the last Reset, and
// the round trips themselves for a failure message. Commits are read from
// the statements' text: a COMMIT, alone or ending a batch, and a batch
// outside a transaction that inserts, updates or deletes (an implicit
// transaction). It does not know whether a batch succeeded, nor see writes
// made through a function: count what the test runs to success.
func (t *Trips) Count() (trips, commits int, log []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	inTx := false
	for _, s := range t.trips {
		l := strings.ToLower(s)
		switch {
		case strings.HasPrefix(l, "begin"):
			inTx = true
		case !inTx && writes(l): // an implicit transaction: it commits on its own
			commits++
			continue
		}
		if inTx && (l == "commit" || strings.HasSuffix(l, "; commit")) { // alone, or with a batch's writes
			commits++
			inTx = false
		} else if l == "rollback" {
			inTx = false
		}
	}
	return len(t.trips), commits, append([]string(nil), t.trips...)
}

// writes reports whether the lower-cased statements l change rows.
func writes(l string) bool {
	return strings.Contains(l, "insert into") || strings.Contains(l, "update ") || strings.Contains(l, "delete from")
}

func (t *Trips) add(sql string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.trips = append(t.trips, strings.Join(strings.Fields(sql), " "))
}

func (t *Trips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	t.add(data.SQL)
	return ctx
}

func (t *Trips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t *Trips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	sql := make([]string, len(data.Batch.QueuedQueries))
	for i, q := range data.Batch.QueuedQueries {
		sql[i] = q.SQL
	}
	t.add(strings.Join(sql, "; "))
	return ctx
}

func (t *Trips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *Trips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
