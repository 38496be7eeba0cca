// Package app implements the catalog's API: it validates through the domain
// and persists through the repository.
package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/adapters/pg"
	"github.com/modmono/shop/modules/catalog/internal/domain"
	"github.com/modmono/shop/platform/page"
)

// Service implements catalogapi.API.
type Service struct {
	products *pg.Products
}

var _ catalogapi.API = (*Service)(nil)

// New returns the service over its repository.
func New(products *pg.Products) *Service { return &Service{products: products} }

func (s *Service) CreateProduct(ctx context.Context, in catalogapi.ProductInput) (catalogapi.Product, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return catalogapi.Product{}, err
	}
	p, err := domain.NewProduct(id, in)
	if err != nil {
		return catalogapi.Product{}, err
	}
	if err := s.products.Add(ctx, p); err != nil {
		return catalogapi.Product{}, err
	}
	return p.Snapshot(), nil
}

func (s *Service) UpdateProduct(ctx context.Context, id uuid.UUID, in catalogapi.ProductInput) (catalogapi.Product, error) {
	p, err := s.products.Update(ctx, id, func(p *domain.Product) (bool, error) { return p.Replace(in) })
	if err != nil {
		return catalogapi.Product{}, err
	}
	return p.Snapshot(), nil
}

func (s *Service) GetProduct(ctx context.Context, id uuid.UUID) (catalogapi.Product, error) {
	p, err := s.products.Get(ctx, id)
	if err != nil {
		return catalogapi.Product{}, err
	}
	return p.Snapshot(), nil
}

func (s *Service) ListProducts(ctx context.Context, req page.Request) (page.Page[catalogapi.Product], error) {
	items, err := s.products.List(ctx, req)
	if err != nil {
		return page.Page[catalogapi.Product]{}, err
	}
	return page.Of(items, req.Limit, func(p catalogapi.Product) uuid.UUID { return p.ID }), nil
}
