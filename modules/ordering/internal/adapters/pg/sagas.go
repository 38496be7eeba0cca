package pg

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/pgxdb"
)

// Sagas stores sagas and leases them to workers. A lease is the row's
// lease_owner (this process, for ReleaseLeases), lease_until and
// lease_token: every claim increments the token, and every write of a
// worker requires the token of its claim, so a worker whose lease ran out
// and whose saga was claimed again, even by its own process, writes nothing.
type Sagas struct {
	db *Orders // whose owner and lease period are the leases'
}

var _ app.Sagas = (*Sagas)(nil)

// NewSagas returns the saga store of this process. Its leases are those of
// orders: the same owner and period, whether a saga is claimed here or born
// claimed when its order is placed.
func NewSagas(orders *Orders) *Sagas {
	return &Sagas{db: orders}
}

// Claim implements app.Sagas.
func (s *Sagas) Claim(ctx context.Context, n int) ([]app.Claimed, error) {
	rows, err := s.db.db.Pool.Query(ctx, `
		UPDATE sagas SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), lease_token = lease_token + 1
		WHERE order_id IN (
			SELECT order_id FROM sagas
			WHERE step <> 'done' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
			ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING order_id, step, reason, payment_token, attempts, deadline, traceparent, lease_token`, s.db.owner, s.db.lease.Seconds(), n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.Claimed, error) {
		var r domain.SagaRecord
		var token int64
		err := row.Scan(&r.OrderID, &r.Step, &r.Reason, &r.PaymentToken, &r.Attempts, &r.Deadline, &r.Traceparent, &token)
		return app.Claimed{Saga: domain.RehydrateSaga(r), Lease: app.Lease{OrderID: r.OrderID, Token: token}}, err
	})
}

// Renew implements app.Sagas.
func (s *Sagas) Renew(ctx context.Context, l app.Lease) error {
	tag, err := s.db.db.Pool.Exec(ctx, `UPDATE sagas SET lease_until = now() + make_interval(secs => $3)
		WHERE order_id = $1 AND lease_token = $2 AND lease_until IS NOT NULL`, l.OrderID, l.Token, s.db.lease.Seconds())
	if err == nil && tag.RowsAffected() == 0 {
		err = app.ErrLeaseLost
	}
	return err
}

// Update implements app.Sagas. The saga's row is locked first, so the
// fence checked here holds until the transaction ends: a claim waits for
// it, and then finds the lease renewed (or given up, with the saga waiting
// or ended).
func (s *Sagas) Update(ctx context.Context, l app.Lease, fn func(*domain.Saga, *domain.Order) error) error {
	return fenced(s.db.db.Tx(ctx, func(tx pgx.Tx) error {
		r := domain.SagaRecord{OrderID: l.OrderID}
		var token int64
		var held bool
		err := tx.QueryRow(ctx, `SELECT step, reason, payment_token, attempts, deadline, traceparent, lease_token, lease_until IS NOT NULL
			FROM sagas WHERE order_id = $1 FOR UPDATE`, l.OrderID).
			Scan(&r.Step, &r.Reason, &r.PaymentToken, &r.Attempts, &r.Deadline, &r.Traceparent, &token, &held)
		if errors.Is(err, pgx.ErrNoRows) {
			return orderingapi.ErrOrderNotFound
		}
		if err != nil {
			return err
		}
		if l.Token != 0 && (token != l.Token || !held) {
			return app.ErrLeaseLost
		}
		var o *domain.Order
		revision := 0
		if l.Token == 0 {
			if o, err = get(ctx, tx, l.OrderID, true); err != nil {
				return err
			}
			revision = o.Revision()
		}
		sg := domain.RehydrateSaga(r)
		if err := fn(sg, o); err != nil {
			return err
		}
		if o != nil && o.Revision() == revision {
			o = nil // unchanged
		}
		b := &pgx.Batch{}
		if err := s.queueChange(ctx, b, l, sg, o); err != nil || b.Len() == 0 {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	}))
}

// Record implements app.Sagas. It trusts sg to be the saga as stored, which
// the fence proves: no one else wrote it since l's claim. So nothing is read
// first, and the fences refuse inside the statements: the change is one
// implicit transaction, its COMMIT included, in one round trip (see
// pgxdb.DB.Batch) where Update takes five or more.
func (s *Sagas) Record(ctx context.Context, l app.Lease, sg *domain.Saga, o *domain.Order) error {
	if l.Token == 0 {
		return errors.New("ordering: Record needs a lease")
	}
	return fenced(s.db.db.Batch(ctx, func(b *pgx.Batch) error { return s.queueChange(ctx, b, l, sg, o) }))
}

// queueChange queues the statements that store sg's change fenced by l,
// its timeline entries, and o's change when o is not nil: the order's
// status, its history and its events in the outbox. Nothing is queued if
// the saga did not change.
func (s *Sagas) queueChange(ctx context.Context, b *pgx.Batch, l app.Lease, sg *domain.Saga, o *domain.Order) error {
	entries := sg.Entries()
	if len(entries) == 0 {
		return nil
	}
	s.queueSave(b, sg, l)
	for _, e := range entries {
		queueEntry(b, l.OrderID, e)
	}
	if o != nil {
		return s.db.queueStatus(ctx, b, o)
	}
	return nil
}

// queueSave queues the update of sg's fields, fenced by l: if l is a
// worker's lease that is not the saga's latest claim, it changes nothing and
// fails the transaction (see fenced). A worker's saga due at once stays
// leased to it for another period; a waiting or ended saga is let go. A
// change made without a lease increments the token, fencing out any worker.
func (s *Sagas) queueSave(b *pgx.Batch, sg *domain.Saga, l app.Lease) {
	r := sg.Record()
	keep := l.Token != 0 && !sg.Done() && sg.RetryIn() == 0
	b.Queue(`WITH saved AS (
			UPDATE sagas SET step = $2, reason = $3, payment_token = $4, attempts = $5, deadline = $6, traceparent = $7,
			next_attempt_at = now() + make_interval(secs => $8),
			lease_owner = CASE WHEN $9 THEN lease_owner END,
			lease_until = CASE WHEN $9 THEN now() + make_interval(secs => $10) END,
			lease_token = lease_token + CASE WHEN $11 = 0 THEN 1 ELSE 0 END,
			updated_at = now()
			WHERE order_id = $1 AND ($11 = 0 OR (lease_token = $11 AND lease_until IS NOT NULL))
			RETURNING order_id)
		SELECT fence_refused('saga ' || $1) WHERE NOT EXISTS (SELECT FROM saved)`,
		r.OrderID, r.Step, r.Reason, r.PaymentToken, r.Attempts, r.Deadline, r.Traceparent,
		sg.RetryIn().Seconds(), keep, s.db.lease.Seconds(), l.Token)
}

// fenceRefused is the SQLSTATE the schema's fence_refused raises.
const fenceRefused = "SG409"

// fenced returns app.ErrLeaseLost for err when a fence refused the change.
func fenced(err error) error {
	if pgxdb.SQLState(err) == fenceRefused {
		return app.ErrLeaseLost
	}
	return err
}

// ReleaseLeases implements app.Sagas.
func (s *Sagas) ReleaseLeases(ctx context.Context) error {
	_, err := s.db.db.Pool.Exec(ctx, `UPDATE sagas SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1`, s.db.owner)
	return err
}

// InFlight implements app.Sagas.
func (s *Sagas) InFlight(ctx context.Context) (int, error) {
	var n int
	err := s.db.db.Pool.QueryRow(ctx, `SELECT count(*) FROM sagas WHERE step <> 'done'`).Scan(&n)
	return n, err
}

// Timeline implements app.Sagas.
func (s *Sagas) Timeline(ctx context.Context, orderID uuid.UUID) ([]app.TimelineEntry, error) {
	rows, err := s.db.db.Pool.Query(ctx, `SELECT step, outcome, detail, at, repeats, last_at FROM saga_log WHERE order_id = $1 ORDER BY seq`, orderID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.TimelineEntry])
}

// Get implements app.Sagas.
func (s *Sagas) Get(ctx context.Context, orderID uuid.UUID) (*domain.Saga, error) {
	r := domain.SagaRecord{OrderID: orderID}
	err := s.db.db.Pool.QueryRow(ctx, `SELECT step, reason, payment_token, attempts, deadline, traceparent FROM sagas WHERE order_id = $1`,
		orderID).Scan(&r.Step, &r.Reason, &r.PaymentToken, &r.Attempts, &r.Deadline, &r.Traceparent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, orderingapi.ErrOrderNotFound
	}
	if err != nil {
		return nil, err
	}
	return domain.RehydrateSaga(r), nil
}

// queueEntry queues the statement that adds e to the saga's timeline. A
// retry whose saga's latest entry is already a retry of that step counts one
// more there instead of adding a row: a compensation retried for days adds
// one row, not thousands. The fenced update of the saga's row, queued
// before, makes the caller its only writer.
func queueEntry(b *pgx.Batch, orderID uuid.UUID, e domain.Entry) {
	if !e.Retry {
		b.Queue(`INSERT INTO saga_log (order_id, step, outcome, detail, at) VALUES ($1, $2, $3, $4, $5)`,
			orderID, e.Step, e.Outcome, e.Detail, e.At)
		return
	}
	b.Queue(`
		WITH latest AS (SELECT seq, step, outcome FROM saga_log WHERE order_id = $1 ORDER BY seq DESC LIMIT 1),
		repeated AS (
			UPDATE saga_log l SET repeats = l.repeats + 1, detail = $4, last_at = $5
			FROM latest WHERE l.seq = latest.seq AND latest.step = $2 AND latest.outcome = $3
			RETURNING l.seq)
		INSERT INTO saga_log (order_id, step, outcome, detail, at)
		SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT FROM repeated)`, orderID, e.Step, e.Outcome, e.Detail, e.At)
}
