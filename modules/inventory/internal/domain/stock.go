// Package domain holds inventory's rules: stock never goes negative and
// never below what is reserved, and an order's reservation moves through
// its states in one direction only.
package domain

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
)

// MaxOnHand bounds a stock level, far above any real warehouse.
const MaxOnHand = 1_000_000_000

// ErrInconsistent means stored stock disagrees with a reservation, e.g. an
// order would release more units than are reserved. It never comes from a
// caller's input; it is a bug or a manual edit of the tables, so it is an
// internal error.
var ErrInconsistent = errors.New("inventory: stock and reservations disagree")

// Item is the stock of one product, the inventory's aggregate.
type Item struct {
	productID uuid.UUID
	onHand    int64
	reserved  int64
}

// NewItem is the empty stock record of a product the catalog announced.
func NewItem(productID uuid.UUID) *Item { return &Item{productID: productID} }

// Rehydrate rebuilds a stored item. Only storage adapters call it.
func Rehydrate(productID uuid.UUID, onHand, reserved int64) *Item {
	return &Item{productID: productID, onHand: onHand, reserved: reserved}
}

// SetOnHand records a physical count and reports whether it changed.
func (it *Item) SetOnHand(n int64) (bool, error) {
	if n < 0 || n > MaxOnHand {
		return false, apperr.Invalid(inventoryapi.ErrInvalidStock.Code,
			apperr.FieldError{Field: "on_hand", Message: "a whole number from 0 to 1000000000"})
	}
	if n < it.reserved {
		return false, inventoryapi.ErrBelowReserved
	}
	changed := n != it.onHand
	it.onHand = n
	return changed, nil
}

// Available is what can still be promised: on hand minus reserved.
func (it *Item) Available() int64 { return it.onHand - it.reserved }

// Reserve holds q available units for an order.
func (it *Item) Reserve(q int64) error {
	if q <= 0 {
		return it.inconsistent("reserve", q)
	}
	if q > it.Available() {
		return inventoryapi.ErrInsufficientStock.WithMessage(
			fmt.Sprintf("not enough units are available of product %s", it.productID))
	}
	it.reserved += q
	return nil
}

// Release lets go of q units held for an order: they become available again.
func (it *Item) Release(q int64) error { return it.shift("release", q, 0, -q) }

// Commit ships q reserved units: they leave on hand and reserved together,
// so available does not change.
func (it *Item) Commit(q int64) error { return it.shift("commit", q, -q, -q) }

// Restock returns q shipped units to on hand. It is not capped at MaxOnHand:
// the units existed before, and refusing them would make a compensation
// fail for good.
func (it *Item) Restock(q int64) error { return it.shift("restock", q, q, 0) }

// shift adds onHandBy and reservedBy to the stock: operation op on q
// units. Every operation keeps 0 <= reserved <= on_hand; q units that
// would break it can only come from tables that disagree, so that is
// ErrInconsistent and nothing changes.
func (it *Item) shift(op string, q, onHandBy, reservedBy int64) error {
	onHand, reserved := it.onHand+onHandBy, it.reserved+reservedBy
	if q <= 0 || reserved < 0 || reserved > onHand {
		return it.inconsistent(op, q)
	}
	it.onHand, it.reserved = onHand, reserved
	return nil
}

func (it *Item) inconsistent(op string, q int64) error {
	return fmt.Errorf("%w: %s %d units of product %s with %d on hand and %d reserved",
		ErrInconsistent, op, q, it.productID, it.onHand, it.reserved)
}

// ProductID identifies the product.
func (it *Item) ProductID() uuid.UUID { return it.productID }

// Snapshot returns the stock level as a DTO.
func (it *Item) Snapshot() inventoryapi.Stock {
	return inventoryapi.Stock{OnHand: it.onHand, Reserved: it.reserved, Available: it.Available()}
}

// Changed is the event of a new stock level.
func (it *Item) Changed() inventoryapi.StockChangedV1 {
	return inventoryapi.StockChangedV1{ProductID: it.productID, OnHand: it.onHand, Reserved: it.reserved}
}
