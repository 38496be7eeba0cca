// Package domain holds inventory's rules: stock never goes negative and
// never below what is reserved.
package domain

import (
	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
)

// MaxOnHand bounds a stock level, far above any real warehouse.
const MaxOnHand = 1_000_000_000

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

// ProductID identifies the product.
func (it *Item) ProductID() uuid.UUID { return it.productID }

// Snapshot returns the stock level as a DTO.
func (it *Item) Snapshot() inventoryapi.Stock {
	return inventoryapi.Stock{OnHand: it.onHand, Reserved: it.reserved, Available: it.onHand - it.reserved}
}

// Changed is the event of a new stock level.
func (it *Item) Changed() inventoryapi.StockChangedV1 {
	return inventoryapi.StockChangedV1{ProductID: it.productID, OnHand: it.onHand, Reserved: it.reserved}
}
