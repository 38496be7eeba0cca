package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/payments/internal/eventstore"
	"github.com/modmono/shop/modules/payments/internal/testdb"
	"github.com/modmono/shop/platform/pgxdb"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ev(i int) eventstore.Event {
	return eventstore.Event{Type: "thing.happened", SchemaVersion: 1, Data: fmt.Appendf(nil, `{"n":%d}`, i),
		OccurredAt: t0.Add(time.Duration(i) * time.Minute)}
}

// write sends what queue queues in a transaction of its own.
func write(ctx context.Context, db *pgxdb.DB, queue func(*pgx.Batch)) error {
	return eventstore.Write(ctx, db, func(b *pgx.Batch) error {
		queue(b)
		return nil
	})
}

func appendTx(ctx context.Context, db *pgxdb.DB, s *eventstore.Store, id uuid.UUID, expected int, events ...eventstore.Event) error {
	return write(ctx, db, func(b *pgx.Batch) { s.QueueAppend(b, id, expected, events...) })
}

func TestAppendAndLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := eventstore.New(db)
	id := uuid.New()

	if st, err := s.Load(ctx, id); err != nil || st.Version() != 0 || st.Snapshot != nil || len(st.Events) != 0 {
		t.Fatalf("unknown stream: %+v, %v", st, err)
	}
	if err := appendTx(ctx, db, s, id, 0, ev(1), ev(2)); err != nil {
		t.Fatal(err)
	}
	if err := appendTx(ctx, db, s, id, 2, ev(3)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version() != 3 || len(st.Events) != 3 {
		t.Fatalf("loaded %+v", st)
	}
	for i, e := range st.Events {
		if e.Version != i+1 || string(e.Data) != fmt.Sprintf(`{"n": %d}`, i+1) || !e.OccurredAt.Equal(ev(i+1).OccurredAt) {
			t.Fatalf("event %d: %+v (%s)", i, e, e.Data)
		}
	}
}

func TestAppendAtAStaleVersionConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := eventstore.New(db)
	id := uuid.New()
	if err := appendTx(ctx, db, s, id, 0, ev(1), ev(2)); err != nil {
		t.Fatal(err)
	}
	for name, expected := range map[string]int{"new stream": 0, "stale": 1, "ahead": 5} {
		if err := appendTx(ctx, db, s, id, expected, ev(3)); !errors.Is(err, eventstore.ErrConflict) {
			t.Errorf("%s (expected %d): got %v, want ErrConflict", name, expected, err)
		}
	}
	if st, _ := s.Load(ctx, id); st.Version() != 2 {
		t.Fatalf("a conflicting append was stored: version %d", st.Version())
	}
}

// Writers that read the same version race; the primary key lets one win.
func TestConcurrentAppendsOneWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := eventstore.New(db)
	id := uuid.New()
	if err := appendTx(ctx, db, s, id, 0, ev(1)); err != nil {
		t.Fatal(err)
	}
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = appendTx(ctx, db, s, id, 1, ev(2)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, eventstore.ErrConflict):
			t.Fatalf("want ErrConflict, got %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers won, want 1", won)
	}
}

func TestLoadUsesSnapshotAndTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := eventstore.New(db)
	id := uuid.New()
	if err := write(ctx, db, func(b *pgx.Batch) {
		s.QueueAppend(b, id, 0, ev(1), ev(2), ev(3))
		s.QueueSnapshot(b, id, eventstore.Snapshot{Version: 2, SchemaVersion: 1, State: []byte(`{"sum":3}`), TakenAt: ev(2).OccurredAt})
	}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Snapshot == nil || st.Snapshot.Version != 2 || len(st.Events) != 1 || st.Events[0].Version != 3 || st.Version() != 3 {
		t.Fatalf("loaded %+v", st)
	}
	// An older snapshot never replaces a newer one.
	if err := write(ctx, db, func(b *pgx.Batch) {
		s.QueueSnapshot(b, id, eventstore.Snapshot{Version: 1, SchemaVersion: 1, State: []byte(`{}`), TakenAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Load(ctx, id); st.Snapshot.Version != 2 {
		t.Fatalf("snapshot went back to version %d", st.Snapshot.Version)
	}
}

func TestLoadAsOf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := eventstore.New(db)
	id := uuid.New()
	if err := write(ctx, db, func(b *pgx.Batch) {
		s.QueueAppend(b, id, 0, ev(1), ev(2), ev(3), ev(4))
		s.QueueSnapshot(b, id, eventstore.Snapshot{Version: 3, SchemaVersion: 1, State: []byte(`{}`), TakenAt: ev(3).OccurredAt})
	}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		at       time.Time
		snapshot int // version of the snapshot used, 0 for none
		version  int
	}{
		"before the first event":              {t0, 0, 0},
		"at the first event":                  {ev(1).OccurredAt, 0, 1},
		"between events, snapshot is newer":   {ev(2).OccurredAt.Add(30 * time.Second), 0, 2},
		"at the snapshot":                     {ev(3).OccurredAt, 3, 3},
		"after everything":                    {ev(4).OccurredAt.Add(time.Hour), 3, 4},
		"between snapshot and the last event": {ev(3).OccurredAt.Add(time.Second), 3, 3},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := s.LoadAsOf(ctx, id, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			if st.Snapshot != nil {
				got = st.Snapshot.Version
			}
			if got != tc.snapshot || st.Version() != tc.version {
				t.Fatalf("snapshot %d, version %d; want %d, %d", got, st.Version(), tc.snapshot, tc.version)
			}
			for _, e := range st.Events {
				if e.OccurredAt.After(tc.at) {
					t.Fatalf("event %d occurred after %s", e.Version, tc.at)
				}
			}
		})
	}
}

// The events table refuses changes to what was written.
func TestEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := eventstore.New(db)
	id := uuid.New()
	if err := appendTx(ctx, db, s, id, 0, ev(1)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE events SET type = 'rewritten'`,
		`DELETE FROM events`,
		`TRUNCATE events`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: accepted", sql)
		}
	}
	if st, _ := s.Load(ctx, id); st.Version() != 1 || st.Events[0].Type != "thing.happened" {
		t.Fatalf("events changed: %+v", st)
	}
}
