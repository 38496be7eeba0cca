// Package app implements inventory's API.
package app

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/internal/adapters/pg"
	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
)

// Service implements inventoryapi.API.
type Service struct {
	stock   *pg.Stock
	catalog catalogapi.API
}

var _ inventoryapi.API = (*Service)(nil)

// New returns the service. catalog is asked only when a product is not yet
// known locally (its created event has not arrived yet).
func New(stock *pg.Stock, catalog catalogapi.API) *Service {
	return &Service{stock: stock, catalog: catalog}
}

func (s *Service) GetStock(ctx context.Context, productID uuid.UUID) (inventoryapi.Stock, error) {
	it, err := s.stock.Get(ctx, productID)
	if errors.Is(err, pg.ErrNoRecord) {
		if err := s.mustExist(ctx, productID); err != nil {
			return inventoryapi.Stock{}, err
		}
		return domain.NewItem(productID).Snapshot(), nil
	}
	if err != nil {
		return inventoryapi.Stock{}, err
	}
	return it.Snapshot(), nil
}

func (s *Service) SetStock(ctx context.Context, productID uuid.UUID, in inventoryapi.SetStockInput) (inventoryapi.Stock, error) {
	set := func(it *domain.Item) (bool, error) { return it.SetOnHand(in.OnHand) }
	it, err := s.stock.Update(ctx, productID, set)
	if errors.Is(err, pg.ErrNoRecord) {
		if err := s.mustExist(ctx, productID); err != nil {
			return inventoryapi.Stock{}, err
		}
		if err := s.stock.Track(ctx, productID); err != nil {
			return inventoryapi.Stock{}, err
		}
		it, err = s.stock.Update(ctx, productID, set)
	}
	if err != nil {
		return inventoryapi.Stock{}, err
	}
	return it.Snapshot(), nil
}

// mustExist asks the catalog about a product inventory has not heard of.
func (s *Service) mustExist(ctx context.Context, productID uuid.UUID) error {
	_, err := s.catalog.GetProduct(ctx, productID)
	if errors.Is(err, catalogapi.ErrProductNotFound) {
		return inventoryapi.ErrUnknownProduct
	}
	return err
}
