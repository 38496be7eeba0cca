// Package app implements inventory's API.
package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
)

// Service implements inventoryapi.API.
type Service struct {
	stock   Stock
	catalog catalogapi.API
}

var _ inventoryapi.API = (*Service)(nil)

// New returns the service. catalog is asked only when a product is not yet
// known locally (its created event has not arrived yet).
func New(stock Stock, catalog catalogapi.API) *Service {
	return &Service{stock: stock, catalog: catalog}
}

func (s *Service) GetStock(ctx context.Context, productID uuid.UUID) (inventoryapi.Stock, error) {
	it, err := s.stock.Get(ctx, productID)
	if errors.Is(err, ErrNoRecord) {
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
	if errors.Is(err, ErrNoRecord) {
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

// Reserve holds every line for the order, or nothing. See inventoryapi.API.
func (s *Service) Reserve(ctx context.Context, orderID uuid.UUID, lines []inventoryapi.Line) error {
	res, err := domain.NewReservation(orderID, lines)
	if err != nil {
		return err
	}
	return s.stock.Reserve(ctx, res, func(existing *domain.Reservation, items domain.Items) (bool, error) {
		if existing != nil {
			// The lines are not compared: an order's lines never change, so
			// a repeat is the same request.
			return false, existing.Repeat()
		}
		return true, res.Place(items)
	})
}

// Release lets go of the order's held units. With none held it succeeds,
// and refuses a reservation of the order that arrives later: compensation
// may run before, or instead of, a reserve call that timed out.
func (s *Service) Release(ctx context.Context, orderID uuid.UUID) error {
	for {
		err := s.stock.Transition(ctx, orderID, (*domain.Reservation).Release)
		if !errors.Is(err, ErrNoReservation) {
			return err
		}
		if err := s.stock.ReleaseUnreserved(ctx, orderID); !errors.Is(err, ErrReserved) {
			return err
		}
		// A reservation committed between the two: release it.
	}
}

// Commit ships the order's held units.
func (s *Service) Commit(ctx context.Context, orderID uuid.UUID) error {
	return s.transition(ctx, orderID, (*domain.Reservation).Commit)
}

// Restock returns the units of the order's committed reservation to on hand.
func (s *Service) Restock(ctx context.Context, orderID uuid.UUID) error {
	return s.transition(ctx, orderID, (*domain.Reservation).Restock)
}

func (s *Service) transition(ctx context.Context, orderID uuid.UUID, change func(*domain.Reservation, domain.Items) (bool, error)) error {
	err := s.stock.Transition(ctx, orderID, change)
	if errors.Is(err, ErrNoReservation) {
		return inventoryapi.ErrReservationNotFound.WithMessage(fmt.Sprintf("order %s has no reservation", orderID))
	}
	return err
}

// mustExist asks the catalog about a product inventory has not heard of.
func (s *Service) mustExist(ctx context.Context, productID uuid.UUID) error {
	_, err := s.catalog.GetProduct(ctx, productID)
	if errors.Is(err, catalogapi.ErrProductNotFound) {
		return inventoryapi.ErrUnknownProduct
	}
	return err
}
