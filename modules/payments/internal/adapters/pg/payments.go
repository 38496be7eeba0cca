// Package pg stores payments as event streams in the module's Postgres
// schema: the repository between the domain's Payment and the event store.
package pg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/payments/internal/app"
	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/internal/eventstore"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// DefaultSnapshotEvery is how many events apart snapshots are taken.
const DefaultSnapshotEvery = 5

// Payments is the payment repository.
type Payments struct {
	db     *pgxdb.DB
	store  *eventstore.Store
	outbox bus.Outbox

	// SnapshotEvery: a snapshot is written whenever a stream's version
	// reaches a multiple of it; default DefaultSnapshotEvery, 0 or less
	// turns snapshots off. Set it before use.
	SnapshotEvery int
}

var _ app.Payments = (*Payments)(nil)

// NewPayments returns the repository over the module's database.
func NewPayments(db *pgxdb.DB) *Payments {
	return &Payments{db: db, store: eventstore.New(db), SnapshotEvery: DefaultSnapshotEvery}
}

// Store returns the event store under the repository.
func (r *Payments) Store() *eventstore.Store { return r.store }

// StreamOf returns the ID of the order's payment stream, or app.ErrNotFound.
func (r *Payments) StreamOf(ctx context.Context, orderID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := r.db.Pool.QueryRow(ctx, `SELECT payment_id FROM payment_orders WHERE order_id = $1`, orderID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, app.ErrNotFound
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("payments: find the stream of order %s: %w", orderID, err)
	}
	return id, nil
}

// ByOrder loads the order's payment from its latest snapshot and the events
// after it, or returns app.ErrNotFound.
func (r *Payments) ByOrder(ctx context.Context, orderID uuid.UUID) (*domain.Payment, error) {
	id, err := r.StreamOf(ctx, orderID)
	if err != nil {
		return nil, err
	}
	st, err := r.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.rebuild(ctx, id, st, time.Time{})
}

// AsOf loads the payment as it was at t, or returns app.ErrNotFound if its
// stream had no event yet.
func (r *Payments) AsOf(ctx context.Context, orderID uuid.UUID, t time.Time) (*domain.Payment, error) {
	id, err := r.StreamOf(ctx, orderID)
	if err != nil {
		return nil, err
	}
	st, err := r.store.LoadAsOf(ctx, id, t)
	if err != nil {
		return nil, err
	}
	if st.Version() == 0 {
		return nil, app.ErrNotFound
	}
	return r.rebuild(ctx, id, st, t)
}

// History loads the order's payment by replaying every event of its stream,
// and returns the events too. It reads no snapshot.
func (r *Payments) History(ctx context.Context, orderID uuid.UUID) (*domain.Payment, []domain.Recorded, error) {
	id, err := r.StreamOf(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	stored, err := r.store.Events(ctx, id, 0, time.Time{})
	if err != nil {
		return nil, nil, err
	}
	events, err := decode(stored)
	if err != nil {
		return nil, nil, err
	}
	p, err := domain.Rebuild(nil, events)
	return p, events, err
}

// rebuild folds a loaded stream. A snapshot the domain cannot use (another
// schema version) is dropped and the stream replayed from its first event.
func (r *Payments) rebuild(ctx context.Context, id uuid.UUID, st eventstore.Stream, until time.Time) (*domain.Payment, error) {
	var from *domain.State
	if s := st.Snapshot; s != nil {
		var ok bool
		if from, ok = domain.DecodeSnapshot(s.SchemaVersion, s.Version, s.State); !ok {
			var err error
			if st.Events, err = r.store.Events(ctx, id, 0, until); err != nil {
				return nil, err
			}
		}
	}
	events, err := decode(st.Events)
	if err != nil {
		return nil, err
	}
	return domain.Rebuild(from, events)
}

func decode(stored []eventstore.Event) ([]domain.Recorded, error) {
	events := make([]domain.Recorded, len(stored))
	for i, s := range stored {
		e, err := domain.Decode(s.Type, s.SchemaVersion, s.Data)
		if err != nil {
			return nil, err
		}
		events[i] = domain.Recorded{Version: s.Version, OccurredAt: s.OccurredAt, Event: e}
	}
	return events, nil
}

// Save appends the payment's uncommitted events, with the integration
// events that announce them, in one transaction. A new stream also claims
// its order there, so an order never gets two streams. The claim, the
// append, the snapshot and the announcements go in one batch that commits
// on its own: one round trip. It returns app.ErrConflict when another writer
// got there first; nothing is stored then.
func (r *Payments) Save(ctx context.Context, p *domain.Payment, announce ...bus.Event) error {
	expected, pending := p.Uncommitted()
	if len(pending) == 0 {
		return nil
	}
	stored := make([]eventstore.Event, len(pending))
	for i, rec := range pending {
		typ, version, data, err := domain.Encode(rec.Event)
		if err != nil {
			return err
		}
		stored[i] = eventstore.Event{Version: rec.Version, Type: typ, SchemaVersion: version, Data: data, OccurredAt: rec.OccurredAt}
	}
	snapshot, err := r.snapshot(p, expected)
	if err != nil {
		return err
	}
	err = eventstore.Write(ctx, r.db, func(b *pgx.Batch) error {
		if expected == 0 {
			queueClaim(b, p)
		}
		r.store.QueueAppend(b, p.ID(), expected, stored...)
		if snapshot != nil {
			r.store.QueueSnapshot(b, p.ID(), *snapshot)
		}
		return r.outbox.Queue(ctx, b, announce...)
	})
	if errors.Is(err, eventstore.ErrConflict) {
		return app.ErrConflict
	}
	if err != nil {
		return err
	}
	p.MarkCommitted()
	return nil
}

// snapshot returns the snapshot to write with this save, if the stream's
// version crosses a multiple of SnapshotEvery.
func (r *Payments) snapshot(p *domain.Payment, expected int) (*eventstore.Snapshot, error) {
	n := r.SnapshotEvery
	if n <= 0 || p.Version()/n == expected/n {
		return nil, nil
	}
	state, err := p.EncodeSnapshot()
	if err != nil {
		return nil, err
	}
	s := p.State()
	return &eventstore.Snapshot{Version: s.Version, SchemaVersion: domain.SnapshotVersion, State: state, TakenAt: s.LastAt}, nil
}

// queueClaim queues on b the row that records which stream holds the
// order's payment. A second stream for the order is a duplicate key, which
// eventstore.Write reports as a conflict.
func queueClaim(b *pgx.Batch, p *domain.Payment) {
	var customer *uuid.UUID
	if c := p.CustomerID(); c != uuid.Nil {
		customer = &c
	}
	b.Queue(`INSERT INTO payment_orders (order_id, payment_id, customer_id) VALUES ($1, $2, $3)`, p.OrderID(), p.ID(), customer)
}
