// Package pg stores ordering's orders, sagas and read model in its schema.
package pg

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Orders is the order repository.
type Orders struct {
	db     *pgxdb.DB
	outbox bus.Outbox
	owner  string        // this process, as the owner of the saga leases it takes
	lease  time.Duration // how long a saga stays leased without a renewal
}

// NewOrders returns the repository over the module's database; lease is how
// long a saga claimed by this process (see Sagas) stays its worker's without
// a renewal.
func NewOrders(db *pgxdb.DB, lease time.Duration) *Orders {
	return &Orders{db: db, owner: uuid.NewString(), lease: lease}
}

var _ app.Orders = (*Orders)(nil)

// ByKey implements app.Orders.
func (r *Orders) ByKey(ctx context.Context, customerID uuid.UUID, key string) (orderID uuid.UUID, hash []byte, err error) {
	err = r.db.Pool.QueryRow(ctx, `SELECT order_id, request_hash FROM idempotency_keys WHERE customer_id = $1 AND key = $2`,
		customerID, key).Scan(&orderID, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		err = app.ErrKeyUnused
	}
	return orderID, hash, err
}

// Place implements app.Orders: one round trip, COMMIT included (see
// pgxdb.DB.Batch). A saga born claimed gets the first fencing token.
func (r *Orders) Place(ctx context.Context, o *domain.Order, key app.IdempotencyKey, saga *domain.Saga, claim bool) (app.Lease, error) {
	lease := app.Lease{OrderID: o.ID()}
	if claim {
		lease.Token = 1
	}
	err := r.db.Batch(ctx, func(b *pgx.Batch) error {
		queueOrder(b, o)
		// A key used first by another request is a duplicate key, which
		// rolls the whole order back.
		b.Queue(`INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id) VALUES ($1, $2, $3, $4)`,
			key.CustomerID, key.Key, key.Hash, o.ID())
		sg := saga.Record()
		b.Queue(`INSERT INTO sagas (order_id, step, reason, payment_token, attempts, deadline, traceparent, lease_owner, lease_until, lease_token)
			VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN $9 END, CASE WHEN $8 THEN now() + make_interval(secs => $10) END, $11)`,
			sg.OrderID, sg.Step, sg.Reason, sg.PaymentToken, sg.Attempts, sg.Deadline, sg.Traceparent, claim, r.owner, r.lease.Seconds(), lease.Token)
		return r.queueChanges(ctx, b, o.Changes())
	})
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.ConstraintName == "idempotency_keys_pkey" {
		return lease, app.ErrKeyTaken
	}
	return lease, err
}

// queueOrder queues the inserts of a new order and its lines.
func queueOrder(b *pgx.Batch, o *domain.Order) {
	s := o.Snapshot()
	b.Queue(`INSERT INTO orders (id, customer_id, status, total, currency, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.ID, s.CustomerID, s.Status, s.Total, s.Currency, o.Revision(), s.CreatedAt, s.UpdatedAt)
	products := make([]uuid.UUID, len(s.Items))
	names := make([]string, len(s.Items))
	quantities := make([]int64, len(s.Items))
	prices := make([]int64, len(s.Items))
	totals := make([]int64, len(s.Items))
	for i, l := range s.Items {
		products[i], names[i], quantities[i], prices[i], totals[i] = l.ProductID, l.Name, l.Quantity, l.UnitPrice, l.LineTotal
	}
	b.Queue(`INSERT INTO order_lines (order_id, position, product_id, name, quantity, unit_price, line_total)
		SELECT $1, l.n - 1, l.product_id, l.name, l.quantity, l.unit_price, l.line_total
		FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
			WITH ORDINALITY AS l (product_id, name, quantity, unit_price, line_total, n)`,
		s.ID, products, names, quantities, prices, totals)
}

// queueChanges queues the order's changes to the outbox and to the history
// the read model is rebuilt from.
func (r *Orders) queueChanges(ctx context.Context, b *pgx.Batch, changes []domain.Change) error {
	for _, e := range changes {
		state, err := json.Marshal(e.State())
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO order_history (order_id, type, state) VALUES ($1, $2, $3)`, e.State().OrderID, e.EventType(), state)
		if err := r.outbox.Queue(ctx, b, e); err != nil {
			return err
		}
	}
	return nil
}

// Get returns an order.
func (r *Orders) Get(ctx context.Context, id uuid.UUID) (*domain.Order, error) {
	return get(ctx, r.db.Pool, id, false)
}

type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// get loads an order and its lines in one round trip; with lock, it locks
// the order's row (q must then be a transaction).
func get(ctx context.Context, q batcher, id uuid.UUID, lock bool) (*domain.Order, error) {
	sql := `SELECT id, customer_id, status, total, currency, failure_reason, revision, created_at, updated_at FROM orders WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var o orderingapi.Order
	var reason string
	var revision int
	b := &pgx.Batch{}
	b.Queue(sql, id).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&o.ID, &o.CustomerID, &o.Status, &o.Total, &o.Currency, &reason, &revision, &o.CreatedAt, &o.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return orderingapi.ErrOrderNotFound
		}
		return err
	})
	b.Queue(`SELECT product_id, name, quantity, unit_price, line_total FROM order_lines WHERE order_id = $1 ORDER BY position`, id).
		Query(func(rows pgx.Rows) (err error) {
			o.Items, err = pgx.CollectRows(rows, pgx.RowToStructByPos[orderingapi.Line])
			return err
		})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	if reason != "" {
		o.FailureReason = &reason
	}
	return domain.Rehydrate(o, revision), nil
}

// queueStatus queues the statements that store a changed order's status
// and publish its changes. The order's row must still be at the revision it
// was loaded at; if not, the transaction fails (see fenced: only a
// saga's fenced change may change an order, so this is a second fence).
func (r *Orders) queueStatus(ctx context.Context, b *pgx.Batch, o *domain.Order) error {
	s := o.Snapshot()
	reason := ""
	if s.FailureReason != nil {
		reason = *s.FailureReason
	}
	changes := o.Changes()
	loaded := o.Revision() - len(changes) // every change is one revision
	b.Queue(`WITH saved AS (
			UPDATE orders SET status = $2, failure_reason = $3, revision = $4, updated_at = $5 WHERE id = $1 AND revision = $6
			RETURNING id)
		SELECT fence_refused('order ' || $1) WHERE NOT EXISTS (SELECT FROM saved)`,
		s.ID, s.Status, reason, o.Revision(), s.UpdatedAt, loaded)
	return r.queueChanges(ctx, b, changes)
}
