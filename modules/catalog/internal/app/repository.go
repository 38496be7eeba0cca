package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/domain"
	"github.com/modmono/shop/platform/page"
)

// The app owns the interface of what it stores; internal/adapters/pg
// implements it, and module.go wires the two.

// Products stores products. Every change commits together with the event
// that announces it.
type Products interface {
	// Add stores a new product and its created event.
	Add(ctx context.Context, p *domain.Product) error
	// Update loads the product locked, lets change modify it, and stores it
	// with its updated event if change reports a modification;
	// catalogapi.ErrProductNotFound if there is none.
	Update(ctx context.Context, id uuid.UUID, change func(*domain.Product) (bool, error)) (*domain.Product, error)
	// Get returns one product; catalogapi.ErrProductNotFound if there is none.
	Get(ctx context.Context, id uuid.UUID) (*domain.Product, error)
	// List returns up to req.Limit+1 products after req.After, in creation order.
	List(ctx context.Context, req page.Request) ([]catalogapi.Product, error)
}
