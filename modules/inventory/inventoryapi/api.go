// Package inventoryapi is the inventory module's public surface: the only
// package of the module that other modules may import.
package inventoryapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
)

// Stock is a product's stock level. OnHand counts physical units; Reserved
// units are held for orders in progress; Available = OnHand - Reserved.
type Stock struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

// SetStockInput sets a product's physical stock.
type SetStockInput struct {
	OnHand int64 `json:"on_hand"`
}

// API is what inventory offers other modules, in process or over HTTP.
type API interface {
	GetStock(ctx context.Context, productID uuid.UUID) (Stock, error)
	// SetStock sets on-hand units; it cannot go below the reserved units.
	SetStock(ctx context.Context, productID uuid.UUID, in SetStockInput) (Stock, error)
}

// Errors of the API. Match them with errors.Is.
var (
	ErrUnknownProduct = apperr.New(apperr.KindNotFound, "inventory.unknown_product", "the catalog has no product with this id")
	ErrInvalidStock   = apperr.New(apperr.KindInvalid, "inventory.invalid_stock", "the stock level is invalid")
	ErrBelowReserved  = apperr.New(apperr.KindConflict, "inventory.below_reserved", "on_hand cannot go below the units reserved for orders")
)
