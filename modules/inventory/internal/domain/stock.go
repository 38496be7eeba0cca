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
//
// The statement that places a reservation (adapters/pg) applies the same
// rule in SQL, so that it can hold the units in the round trip that locks
// the stock row; the adapter then checks that this method and the
// statement agree.
func (it *Item) Reserve(q int64) error {
	if q <= 0 {
		return it.inconsistent("reserved", q)
	}
	if q > it.Available() {
		return inventoryapi.ErrInsufficientStock.WithMessage(
			fmt.Sprintf("not enough units are available of product %s", it.productID))
	}
	it.reserved += q
	return nil
}

// Effect is what a step of a reservation does to the stock of each of its
// lines: on hand and reserved change by the line's quantity times these.
type Effect struct{ OnHand, Reserved int64 }

// apply changes the stock by q units of e. Every step keeps
// 0 <= reserved <= on_hand; a quantity that would break it can only come
// from tables that disagree, so it is ErrInconsistent and nothing changes.
// The stock table's CHECKs state the same bounds, which is what stops the
// statement that applies a step in SQL (adapters/pg).
func (it *Item) apply(verb string, e Effect, q int64) error {
	onHand, reserved := it.onHand+e.OnHand*q, it.reserved+e.Reserved*q
	if q <= 0 || reserved < 0 || reserved > onHand {
		return it.inconsistent(verb, q)
	}
	it.onHand, it.reserved = onHand, reserved
	return nil
}

// inconsistent is the error of q units that cannot be verb (a past
// participle) with the stock as it is.
func (it *Item) inconsistent(verb string, q int64) error {
	return fmt.Errorf("%w: %d units of product %s cannot be %s with %d on hand and %d reserved",
		ErrInconsistent, q, it.productID, verb, it.onHand, it.reserved)
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
