package pgxdb_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// openCounted opens a database of two connections and counts its commits.
func openCounted(t *testing.T) (*pgxdb.DB, *atomic.Int32) {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), pgtest.NewDatabase(t), "pgxdbtest", migrations, nil, pgxdb.WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	commits := &atomic.Int32{}
	db.OnCommit(func() { commits.Add(1) })
	return db, commits
}

// countThings counts the rows of the test table.
func countThings(t *testing.T, db *pgxdb.DB) (n int) {
	t.Helper()
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM things`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A batch transaction commits all its statements, or, when a statement or
// the check of its result fails, none; the commit hooks run only after a
// commit, and the connection goes back to the pool either way.
func TestTxBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, commits := openCounted(t)
	errTaken := errors.New("taken")
	insert := func(ids ...int) error {
		return db.TxBatch(ctx, func(b *pgx.Batch) error {
			for _, id := range ids {
				b.Queue(`INSERT INTO things (id) VALUES ($1) ON CONFLICT DO NOTHING`, id).Exec(func(tag pgconn.CommandTag) error {
					if tag.RowsAffected() == 0 {
						return errTaken
					}
					return nil
				})
			}
			return nil
		}, nil)
	}
	if err := insert(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := insert(3, 1, 4); !errors.Is(err, errTaken) { // refused in the middle: 3 and 4 roll back
		t.Fatalf("err = %v, want the callback's", err)
	}
	err := db.TxBatch(ctx, func(b *pgx.Batch) error {
		b.Queue(`INSERT INTO things (id) VALUES (5)`)
		b.Queue(`INSERT INTO things (id) VALUES ('not a number')`)
		return nil
	}, nil)
	if err == nil {
		t.Fatal("a failing statement committed")
	}
	// then runs in the transaction, after the batch: it sees the batch's
	// rows, and its failure rolls them back.
	errThen := errors.New("then failed")
	err = db.TxBatch(ctx, func(b *pgx.Batch) error {
		b.Queue(`INSERT INTO things (id) VALUES (6)`)
		return nil
	}, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM things WHERE id = 6`).Scan(&n); err != nil || n != 1 {
			t.Errorf("then sees %d rows of the batch, %v", n, err)
		}
		return errThen
	})
	if !errors.Is(err, errThen) {
		t.Fatalf("err = %v, want then's", err)
	}
	for range 3 { // more than the pool holds: every failure gave its connection back
		if err := insert(1); !errors.Is(err, errTaken) {
			t.Fatal(err)
		}
	}
	if n, c := countThings(t, db), commits.Load(); n != 2 || c != 1 {
		t.Fatalf("%d rows and %d commits, want 2 and 1", n, c)
	}
}

// A batch is one implicit transaction: a failing statement takes the ones
// before it along.
func TestBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, commits := openCounted(t)
	insert := func(ids ...int) error {
		return db.Batch(ctx, func(b *pgx.Batch) error {
			for _, id := range ids {
				b.Queue(`INSERT INTO things (id) VALUES ($1)`, id)
			}
			return nil
		})
	}
	if err := insert(1, 2); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if err := insert(3, 1, 4); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("err = %v, want the duplicate key", err)
	}
	err := db.Batch(ctx, func(b *pgx.Batch) error {
		b.Queue(`INSERT INTO things (id) VALUES (7)`).Exec(func(pgconn.CommandTag) error { return nil })
		return nil
	})
	if err == nil {
		t.Fatal("a statement with a callback was sent with its commit")
	}
	if n := countThings(t, db); n != 2 || commits.Load() != 1 {
		t.Fatalf("%d rows and %d commits, want 2 and 1", n, commits.Load())
	}
}

// A deciding transaction reads under lock, decides in Go and writes with
// its COMMIT: a refusal in a read's callback, in decide, or a failing write
// rolls back everything, the connection goes back to the pool clean, and
// the commit hooks run only after a commit.
func TestTxDecideIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, commits := openCounted(t)
	errFull := errors.New("full")
	// add inserts id unless the table holds limit rows, read under lock.
	add := func(id, limit int, extra ...string) error {
		var n int
		return db.TxDecide(ctx, func(b *pgx.Batch) error {
			b.Queue(`LOCK TABLE things IN EXCLUSIVE MODE`)
			b.Queue(`SELECT count(*) FROM things`).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
			return nil
		}, func(b *pgx.Batch) error {
			if n >= limit {
				return errFull
			}
			b.Queue(`INSERT INTO things (id) VALUES ($1)`, id)
			for _, sql := range extra {
				b.Queue(sql)
			}
			return nil
		})
	}
	if err := add(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := add(2, 1); !errors.Is(err, errFull) {
		t.Fatalf("err = %v, want decide's", err)
	}
	var pgErr *pgconn.PgError
	if err := add(1, 5); !errors.As(err, &pgErr) || pgErr.Code != "23505" { // the write fails: nothing commits
		t.Fatalf("err = %v, want the duplicate key", err)
	}
	if err := add(3, 5, `INSERT INTO things (id) VALUES ('not a number')`); err == nil {
		t.Fatal("a failing write committed")
	}
	errRead := errors.New("read refused")
	err := db.TxDecide(ctx, func(b *pgx.Batch) error {
		b.Queue(`INSERT INTO things (id) VALUES (9)`)
		b.Queue(`SELECT 1`).QueryRow(func(pgx.Row) error { return errRead })
		return nil
	}, func(*pgx.Batch) error {
		t.Error("decide ran after a refused read")
		return nil
	})
	if !errors.Is(err, errRead) {
		t.Fatalf("err = %v, want the read callback's", err)
	}
	// A write's callback would run after COMMIT, too late to refuse.
	err = db.TxDecide(ctx, func(*pgx.Batch) error { return nil }, func(b *pgx.Batch) error {
		b.Queue(`INSERT INTO things (id) VALUES (8)`).Exec(func(pgconn.CommandTag) error { return nil })
		return nil
	})
	if err == nil {
		t.Fatal("a write with a callback was sent")
	}
	for range 3 { // more than the pool holds: every failure gave its connection back outside a transaction
		if err := add(2, 1); !errors.Is(err, errFull) {
			t.Fatal(err)
		}
	}
	if err := add(2, 5); err != nil {
		t.Fatal(err)
	}
	if n, c := countThings(t, db), commits.Load(); n != 2 || c != 2 {
		t.Fatalf("%d rows and %d commits, want 2 and 2", n, c)
	}
}
