package pg

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/pgxdb"
)

// Views is the CQRS read model of orders and the customer replica.
type Views struct{ db *pgxdb.DB }

// NewViews returns the read model over the module's database.
func NewViews(db *pgxdb.DB) *Views { return &Views{db: db} }

// Apply folds an order state into the read model in tx. States may arrive
// in any order: the one with the highest revision wins.
func Apply(ctx context.Context, tx pgx.Tx, s orderingapi.OrderStateV1) error {
	items, err := json.Marshal(s.Items)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO order_views (id, customer_id, status, items, total, currency, failure_reason, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, items = EXCLUDED.items, total = EXCLUDED.total,
			currency = EXCLUDED.currency, failure_reason = EXCLUDED.failure_reason, revision = EXCLUDED.revision,
			updated_at = EXCLUDED.updated_at
		WHERE order_views.revision < EXCLUDED.revision`,
		s.OrderID, s.CustomerID, s.Status, items, s.Total, s.Currency, s.FailureReason, s.Revision, s.CreatedAt, s.UpdatedAt)
	return err
}

// ReplicateCustomer records a customer's name and email as of changedAt;
// an older change arriving late does not overwrite a newer one.
func ReplicateCustomer(ctx context.Context, tx pgx.Tx, c orderingapi.Customer, changedAt time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO customers (user_id, name, email, changed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, changed_at = EXCLUDED.changed_at
		WHERE customers.changed_at <= EXCLUDED.changed_at`, c.ID, c.Name, c.Email, changedAt)
	return err
}

// List returns up to limit+1 of a customer's orders, newest first (UUIDv7
// ids sort by creation), after the page key.
func (v *Views) List(ctx context.Context, q orderingapi.ListQuery) ([]orderingapi.OrderView, error) {
	after := q.Page.After
	if after == uuid.Nil {
		after = uuid.Max
	}
	rows, err := v.db.Pool.Query(ctx, `
		SELECT o.id, o.customer_id, o.status, o.items, o.total, o.currency, o.failure_reason, o.created_at, o.updated_at,
			c.user_id, c.name, c.email
		FROM order_views o LEFT JOIN customers c ON c.user_id = o.customer_id
		WHERE o.customer_id = $1 AND o.id < $2 AND ($3 = '' OR o.status = $3)
		ORDER BY o.id DESC LIMIT $4`, q.CustomerID, after, q.Status, q.Page.Limit+1)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (orderingapi.OrderView, error) {
		var ov orderingapi.OrderView
		var reason string
		var cid *uuid.UUID
		var name, email *string
		if err := row.Scan(&ov.ID, &ov.CustomerID, &ov.Status, &ov.Items, &ov.Total, &ov.Currency, &reason,
			&ov.CreatedAt, &ov.UpdatedAt, &cid, &name, &email); err != nil {
			return ov, err
		}
		if reason != "" {
			ov.FailureReason = &reason
		}
		if cid != nil {
			ov.Customer = &orderingapi.Customer{ID: *cid, Name: *name, Email: *email}
		}
		return ov, nil
	})
}

// Rebuild empties the read model and replays ordering's event history into
// it, in one transaction (live projection waits meanwhile). It returns the
// number of events replayed.
func (v *Views) Rebuild(ctx context.Context) (int, error) {
	n := 0
	err := v.db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE order_views`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT state FROM order_history ORDER BY seq`)
		if err != nil {
			return err
		}
		states, err := pgx.CollectRows(rows, pgx.RowTo[orderingapi.OrderStateV1])
		if err != nil {
			return err
		}
		for _, s := range states {
			if err := Apply(ctx, tx, s); err != nil {
				return err
			}
		}
		n = len(states)
		return nil
	})
	return n, err
}
