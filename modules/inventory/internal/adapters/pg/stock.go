// Package pg stores inventory's stock levels in its Postgres schema.
package pg

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/inventory/internal/app"
	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Stock is the stock repository.
type Stock struct {
	db     *pgxdb.DB
	outbox bus.Outbox
}

var _ app.Stock = (*Stock)(nil)

// NewStock returns the repository over the module's database.
func NewStock(db *pgxdb.DB) *Stock { return &Stock{db: db} }

// Track creates the empty stock record of a product, in tx; it does nothing
// if the record exists.
func Track(ctx context.Context, tx pgx.Tx, productID uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO stock (product_id) VALUES ($1) ON CONFLICT DO NOTHING`, productID)
	return err
}

// Track creates the empty stock record of a product in its own transaction.
func (r *Stock) Track(ctx context.Context, productID uuid.UUID) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error { return Track(ctx, tx, productID) })
}

// Get returns a product's stock, or app.ErrNoRecord.
func (r *Stock) Get(ctx context.Context, productID uuid.UUID) (*domain.Item, error) {
	var onHand, reserved int64
	err := r.db.Pool.QueryRow(ctx, `SELECT on_hand, reserved FROM stock WHERE product_id = $1`, productID).Scan(&onHand, &reserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.ErrNoRecord
	}
	if err != nil {
		return nil, err
	}
	return domain.Rehydrate(productID, onHand, reserved), nil
}

// Update locks a product's stock, applies change and, if change reports a
// modification, stores the result with its stock-changed event.
func (r *Stock) Update(ctx context.Context, productID uuid.UUID, change func(*domain.Item) (bool, error)) (*domain.Item, error) {
	var it *domain.Item
	err := r.db.Tx(ctx, func(tx pgx.Tx) error {
		var onHand, reserved int64
		err := tx.QueryRow(ctx, `SELECT on_hand, reserved FROM stock WHERE product_id = $1 FOR UPDATE`, productID).Scan(&onHand, &reserved)
		if errors.Is(err, pgx.ErrNoRows) {
			return app.ErrNoRecord
		}
		if err != nil {
			return err
		}
		it = domain.Rehydrate(productID, onHand, reserved)
		changed, err := change(it)
		if err != nil || !changed {
			return err
		}
		s := it.Snapshot()
		if _, err := tx.Exec(ctx, `UPDATE stock SET on_hand = $2, reserved = $3, updated_at = now() WHERE product_id = $1`,
			productID, s.OnHand, s.Reserved); err != nil {
			return err
		}
		return r.outbox.Add(ctx, tx, it.Changed())
	})
	return it, err
}
