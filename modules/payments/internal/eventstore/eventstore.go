// Package eventstore is an append-only event store in the module's schema:
// streams of events with optimistic concurrency, snapshots, and loads of a
// stream as it was at a past time. It knows nothing of payments; events and
// snapshots are opaque JSON with a type and a schema version.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/platform/pgxdb"
)

// ErrConflict means the stream is not at the expected version: another
// writer appended first (or the expected version is wrong). Reload and decide
// again.
var ErrConflict = errors.New("eventstore: stream changed concurrently")

// Event is one stored event. Version is its position in the stream, from 1.
type Event struct {
	Version       int
	Type          string
	SchemaVersion int    // of Data
	Data          []byte // a JSON object
	OccurredAt    time.Time
}

// Snapshot is a stream's state after its first Version events. TakenAt is
// the time of the last event it covers.
type Snapshot struct {
	Version       int
	SchemaVersion int    // of State
	State         []byte // JSON
	TakenAt       time.Time
}

// Stream is what a load returns: the latest usable snapshot, if any, and the
// events after it in order.
type Stream struct {
	Snapshot *Snapshot
	Events   []Event
}

// Version is the version of the stream's last loaded event, 0 if it has none.
func (s Stream) Version() int {
	if n := len(s.Events); n > 0 {
		return s.Events[n-1].Version
	}
	if s.Snapshot != nil {
		return s.Snapshot.Version
	}
	return 0
}

// Store reads and appends streams. It is safe for concurrent use.
type Store struct{ db *pgxdb.DB }

// New returns the store over the module's database.
func New(db *pgxdb.DB) *Store { return &Store{db: db} }

// Load returns the stream's snapshot and the events after it. A stream that
// does not exist is empty.
func (s *Store) Load(ctx context.Context, streamID uuid.UUID) (Stream, error) {
	return s.load(ctx, streamID, time.Time{})
}

// LoadAsOf returns the stream as it was at t: the events that occurred at or
// before t, on top of a snapshot taken at or before t. Snapshots newer than t
// are ignored; the replay stops at the first event that occurred after t, so
// the result is always a prefix of the stream.
func (s *Store) LoadAsOf(ctx context.Context, streamID uuid.UUID, t time.Time) (Stream, error) {
	if t.IsZero() {
		return Stream{}, errors.New("eventstore: LoadAsOf needs a time")
	}
	return s.load(ctx, streamID, t)
}

// load reads a snapshot and its tail; until zero means now.
func (s *Store) load(ctx context.Context, streamID uuid.UUID, until time.Time) (Stream, error) {
	var st Stream
	snap := Snapshot{}
	err := s.db.Pool.QueryRow(ctx, `SELECT version, schema_version, state, taken_at FROM snapshots
		WHERE stream_id = $1 AND ($2::timestamptz IS NULL OR taken_at <= $2)`, streamID, nullTime(until)).
		Scan(&snap.Version, &snap.SchemaVersion, &snap.State, &snap.TakenAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return Stream{}, fmt.Errorf("eventstore: load snapshot: %w", err)
	default:
		snap.TakenAt = snap.TakenAt.UTC()
		st.Snapshot = &snap
	}
	if st.Events, err = s.Events(ctx, streamID, st.Version(), until); err != nil {
		return Stream{}, err
	}
	return st, nil
}

// Events returns the stream's events after version after, in order. With a
// non-zero until it stops before the first event that occurred after until.
// Use it to replay from the start when a snapshot cannot be used.
func (s *Store) Events(ctx context.Context, streamID uuid.UUID, after int, until time.Time) ([]Event, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT version, type, schema_version, data, occurred_at FROM events
		WHERE stream_id = $1 AND version > $2 ORDER BY version`, streamID, after)
	if err != nil {
		return nil, fmt.Errorf("eventstore: load events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		var e Event
		err := row.Scan(&e.Version, &e.Type, &e.SchemaVersion, &e.Data, &e.OccurredAt)
		e.OccurredAt = e.OccurredAt.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("eventstore: load events: %w", err)
	}
	for i, e := range events {
		if e.Version != after+i+1 {
			return nil, fmt.Errorf("eventstore: stream %s has a gap before version %d", streamID, e.Version)
		}
		if !until.IsZero() && e.OccurredAt.After(until) {
			return events[:i], nil
		}
	}
	return events, nil
}

// QueueAppend queues on b the append of events to the stream, numbered
// after expected, the version the caller's decision was based on (0 for a
// new stream). Send b with Write: it returns ErrConflict, having rolled the
// transaction back, if the stream is at any other version (the schema's
// expect_version refuses it).
func (s *Store) QueueAppend(b *pgx.Batch, streamID uuid.UUID, expected int, events ...Event) {
	b.Queue(`SELECT expect_version($1, $2)`, streamID, expected)
	// A writer that read the same version concurrently is stopped by the
	// primary key: the second insert of (stream_id, version) fails, which
	// Write reports as ErrConflict.
	for i, e := range events {
		b.Queue(`INSERT INTO events (stream_id, version, type, schema_version, data, occurred_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, streamID, expected+i+1, e.Type, e.SchemaVersion, e.Data, e.OccurredAt)
	}
}

// QueueSnapshot queues on b storing snap as the stream's snapshot, unless a
// snapshot of a later version is already there.
func (s *Store) QueueSnapshot(b *pgx.Batch, streamID uuid.UUID, snap Snapshot) {
	b.Queue(`INSERT INTO snapshots (stream_id, version, schema_version, state, taken_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version,
			state = EXCLUDED.state, taken_at = EXCLUDED.taken_at
		WHERE snapshots.version < EXCLUDED.version`, streamID, snap.Version, snap.SchemaVersion, snap.State, snap.TakenAt)
}

// Write runs the statements queue queues (QueueAppend, QueueSnapshot and
// the caller's own, such as its outbox rows) as one implicit transaction in
// one round trip (pgxdb.DB.Batch), so every condition must be one Postgres
// checks: a callback on a statement runs after the commit. A stream at
// another version than expected, or a duplicate key (another writer
// appended at the same version, or inserted a row of the caller's with the
// same key first), is ErrConflict.
func Write(ctx context.Context, db *pgxdb.DB, queue func(*pgx.Batch) error) error {
	err := db.Batch(ctx, queue)
	switch {
	case err == nil:
		return nil
	case isConflict(err):
		return ErrConflict
	default:
		return fmt.Errorf("eventstore: write: %w", err)
	}
}

// versionMismatch is the SQLSTATE expect_version raises.
const versionMismatch = "ES409"

// isConflict reports whether err is Postgres refusing a duplicate key or an
// append at another version than the stream's.
func isConflict(err error) bool {
	code := pgxdb.SQLState(err)
	return code == "23505" || code == versionMismatch
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
