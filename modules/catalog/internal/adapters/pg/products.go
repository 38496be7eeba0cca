// Package pg stores the catalog's products in its Postgres schema.
package pg

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/app"
	"github.com/modmono/shop/modules/catalog/internal/domain"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/page"
	"github.com/modmono/shop/platform/pgxdb"
)

// Products is the product repository. Every change commits together with
// the events it announces.
type Products struct {
	db     *pgxdb.DB
	outbox bus.Outbox
}

var _ app.Products = (*Products)(nil)

// NewProducts returns the repository over the module's database.
func NewProducts(db *pgxdb.DB) *Products { return &Products{db: db} }

// Add stores a new product and its created event.
func (r *Products) Add(ctx context.Context, p *domain.Product) error {
	s := p.Snapshot()
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO products (id, name, description, price, currency, revision)
			VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, s.Name, s.Description, s.Price, s.Currency, p.Revision()); err != nil {
			return err
		}
		return r.outbox.Add(ctx, tx, p.Created())
	})
}

// Update loads the product locked, lets change modify it, and stores it with
// its updated event if change reports a modification.
func (r *Products) Update(ctx context.Context, id uuid.UUID, change func(*domain.Product) (bool, error)) (*domain.Product, error) {
	var p *domain.Product
	err := r.db.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		if p, err = get(ctx, tx, id, true); err != nil {
			return err
		}
		changed, err := change(p)
		if err != nil || !changed {
			return err
		}
		s := p.Snapshot()
		if _, err := tx.Exec(ctx, `UPDATE products SET name = $2, description = $3, price = $4, currency = $5,
			revision = $6, updated_at = now() WHERE id = $1`, s.ID, s.Name, s.Description, s.Price, s.Currency, p.Revision()); err != nil {
			return err
		}
		return r.outbox.Add(ctx, tx, p.Updated())
	})
	return p, err
}

// Get returns one product.
func (r *Products) Get(ctx context.Context, id uuid.UUID) (*domain.Product, error) {
	return get(ctx, r.db.Pool, id, false)
}

// List returns up to limit+1 products after the key, in creation order.
func (r *Products) List(ctx context.Context, req page.Request) ([]catalogapi.Product, error) {
	rows, err := r.db.Pool.Query(ctx, `SELECT id, name, description, price, currency FROM products
		WHERE id > $1 ORDER BY id LIMIT $2`, req.After, req.Limit+1)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[catalogapi.Product])
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func get(ctx context.Context, q querier, id uuid.UUID, lock bool) (*domain.Product, error) {
	sql := `SELECT id, name, description, price, currency, revision FROM products WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var s catalogapi.Product
	var revision int
	err := q.QueryRow(ctx, sql, id).Scan(&s.ID, &s.Name, &s.Description, &s.Price, &s.Currency, &revision)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, catalogapi.ErrProductNotFound
	}
	if err != nil {
		return nil, err
	}
	return domain.Rehydrate(s, revision), nil
}
