// Package pg stores ordering's orders, sagas and read model in its schema.
package pg

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
}

// NewOrders returns the repository over the module's database.
func NewOrders(db *pgxdb.DB) *Orders { return &Orders{db: db} }

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

// Place implements app.Orders.
func (r *Orders) Place(ctx context.Context, o *domain.Order, key app.IdempotencyKey, saga *domain.Saga) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		if err := insertOrder(ctx, tx, o); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, key.CustomerID, key.Key, key.Hash, o.ID())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return app.ErrKeyTaken // the transaction rolls back: no order
		}
		sg := saga.Record()
		if _, err := tx.Exec(ctx, `INSERT INTO sagas (order_id, step, reason, payment_token, attempts, deadline, traceparent)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, sg.OrderID, sg.Step, sg.Reason, sg.PaymentToken, sg.Attempts, sg.Deadline, sg.Traceparent); err != nil {
			return err
		}
		return r.publish(ctx, tx, o.Changes())
	})
}

func insertOrder(ctx context.Context, tx pgx.Tx, o *domain.Order) error {
	s := o.Snapshot()
	if _, err := tx.Exec(ctx, `INSERT INTO orders (id, customer_id, status, total, currency, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.ID, s.CustomerID, s.Status, s.Total, s.Currency, o.Revision(), s.CreatedAt, s.UpdatedAt); err != nil {
		return err
	}
	rows := make([][]any, len(s.Items))
	for i, l := range s.Items {
		rows[i] = []any{s.ID, i, l.ProductID, l.Name, l.Quantity, l.UnitPrice, l.LineTotal}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"order_lines"},
		[]string{"order_id", "position", "product_id", "name", "quantity", "unit_price", "line_total"}, pgx.CopyFromRows(rows))
	return err
}

// publish writes the order's changes to the outbox and to the history the
// read model is rebuilt from.
func (r *Orders) publish(ctx context.Context, tx pgx.Tx, changes []domain.Change) error {
	for _, e := range changes {
		state, err := json.Marshal(e.State())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO order_history (order_id, type, state) VALUES ($1, $2, $3)`,
			e.State().OrderID, e.EventType(), state); err != nil {
			return err
		}
		if err := r.outbox.Add(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// Get returns an order.
func (r *Orders) Get(ctx context.Context, id uuid.UUID) (*domain.Order, error) {
	return get(ctx, r.db.Pool, id, false)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func get(ctx context.Context, q querier, id uuid.UUID, lock bool) (*domain.Order, error) {
	sql := `SELECT id, customer_id, status, total, currency, failure_reason, revision, created_at, updated_at FROM orders WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var o orderingapi.Order
	var reason string
	var revision int
	err := q.QueryRow(ctx, sql, id).Scan(&o.ID, &o.CustomerID, &o.Status, &o.Total, &o.Currency, &reason, &revision, &o.CreatedAt, &o.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, orderingapi.ErrOrderNotFound
	}
	if err != nil {
		return nil, err
	}
	if reason != "" {
		o.FailureReason = &reason
	}
	rows, err := q.Query(ctx, `SELECT product_id, name, quantity, unit_price, line_total FROM order_lines WHERE order_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	if o.Items, err = pgx.CollectRows(rows, pgx.RowToStructByPos[orderingapi.Line]); err != nil {
		return nil, err
	}
	return domain.Rehydrate(o, revision), nil
}

// saveStatus stores a changed order's status and publishes its changes, in tx.
func (r *Orders) saveStatus(ctx context.Context, tx pgx.Tx, o *domain.Order) error {
	s := o.Snapshot()
	reason := ""
	if s.FailureReason != nil {
		reason = *s.FailureReason
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, failure_reason = $3, revision = $4, updated_at = $5 WHERE id = $1`,
		s.ID, s.Status, reason, o.Revision(), s.UpdatedAt); err != nil {
		return err
	}
	return r.publish(ctx, tx, o.Changes())
}
