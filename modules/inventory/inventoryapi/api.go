// Package inventoryapi is the inventory module's public surface: the only
// package of the module that other modules may import.
package inventoryapi

//go:generate go run ../../../internal/rpcgen

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

// Line is a quantity of one product.
type Line struct {
	ProductID uuid.UUID `json:"product_id"`
	Quantity  int64     `json:"quantity"`
}

// API is what inventory offers other modules, in process or over HTTP.
//
// The reservation methods are keyed by order and idempotent, so a saga may
// repeat any of them after a timeout or a crash.
type API interface {
	//rpc:idempotent
	GetStock(ctx context.Context, productID uuid.UUID) (Stock, error)
	// SetStock sets on-hand units; it cannot go below the reserved units.
	//rpc:idempotent
	SetStock(ctx context.Context, productID uuid.UUID, in SetStockInput) (Stock, error)

	// Reserve holds every line for the order, or nothing: if any product
	// lacks available units it returns ErrInsufficientStock and holds none.
	// Repeating it for an order that holds a reservation does nothing.
	//rpc:idempotent
	Reserve(ctx context.Context, orderID uuid.UUID, lines []Line) error
	// Release lets go of an order's reservation (compensation). It does
	// nothing if the order has none or released it already; a committed
	// reservation cannot be released (ErrReservationState).
	//rpc:idempotent
	Release(ctx context.Context, orderID uuid.UUID) error
	// Commit turns the reservation into a shipment: on_hand and reserved
	// both drop by its units. Repeating it does nothing.
	//rpc:idempotent
	Commit(ctx context.Context, orderID uuid.UUID) error
	// Restock returns the units of a committed order to on_hand (the order
	// was cancelled after confirmation). Repeating it does nothing.
	//rpc:idempotent
	Restock(ctx context.Context, orderID uuid.UUID) error
}

// Errors of the API. Match them with errors.Is.
var (
	ErrUnknownProduct = apperr.New(apperr.KindNotFound, "inventory.unknown_product", "the catalog has no product with this id")
	ErrInvalidStock   = apperr.New(apperr.KindInvalid, "inventory.invalid_stock", "the stock level is invalid")
	ErrBelowReserved  = apperr.New(apperr.KindConflict, "inventory.below_reserved", "on_hand cannot go below the units reserved for orders")

	ErrInsufficientStock   = apperr.New(apperr.KindConflict, "inventory.insufficient_stock", "not enough units are available")
	ErrInvalidReservation  = apperr.New(apperr.KindInvalid, "inventory.invalid_reservation", "the reservation has invalid lines")
	ErrReservationNotFound = apperr.New(apperr.KindNotFound, "inventory.reservation_not_found", "the order has no reservation")
	ErrReservationState    = apperr.New(apperr.KindConflict, "inventory.reservation_state", "the reservation is not in a state that allows this")
)
