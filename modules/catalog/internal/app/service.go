// Package app implements the catalog's API: it validates through the domain
// and persists through the repository.
package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/cache"
	"github.com/modmono/shop/modules/catalog/internal/domain"
	"github.com/modmono/shop/platform/page"
)

// Service implements catalogapi.API. GetProduct reads through the cache.
type Service struct {
	products Products
	cache    *cache.Products
}

var _ catalogapi.API = (*Service)(nil)

// New returns the service over its repository and its cache.
func New(products Products, cache *cache.Products) *Service {
	return &Service{products: products, cache: cache}
}

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
	// Dropped right after the commit, so this process's next read is fresh
	// without waiting for the event; other processes drop it when the event
	// reaches their listener. Also after an error: a failed COMMIT may
	// still have committed.
	s.cache.Invalidate(id)
	if err != nil {
		return catalogapi.Product{}, err
	}
	return p.Snapshot(), nil
}

func (s *Service) GetProduct(ctx context.Context, id uuid.UUID) (catalogapi.Product, error) {
	if p, ok := s.cache.Get(id); ok {
		return p, nil
	}
	epoch := s.cache.Epoch()
	p, err := s.products.Get(ctx, id)
	if err != nil {
		// A not-found is not cached: the product may be created any moment.
		return catalogapi.Product{}, err
	}
	snap := p.Snapshot()
	s.cache.Add(snap, epoch)
	return snap, nil
}

func (s *Service) ListProducts(ctx context.Context, req page.Request) (page.Page[catalogapi.Product], error) {
	if err := req.Validate(); err != nil {
		return page.Page[catalogapi.Product]{}, err
	}
	items, err := s.products.List(ctx, req)
	if err != nil {
		return page.Page[catalogapi.Product]{}, err
	}
	return page.Of(items, req.Limit, func(p catalogapi.Product) uuid.UUID { return p.ID }), nil
}
