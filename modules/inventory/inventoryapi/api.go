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
	// ErrUnknownProduct means the catalog has no product with this ID, so it has no stock either.
	// List the products with GET /api/v1/products.
	ErrUnknownProduct = apperr.New(apperr.KindNotFound, "inventory.unknown_product", "the catalog has no product with this id")
	// ErrInvalidStock means the stock level to set is missing or outside 0 to 1000000000. Send
	// {"on_hand":N}.
	ErrInvalidStock = apperr.New(apperr.KindInvalid, "inventory.invalid_stock", "the stock level is invalid")
	// ErrBelowReserved means on_hand would go below the units reserved for orders still in their
	// checkout. Wait for those orders to finish, or set a higher level; GET
	// /api/v1/inventory/{product_id} shows what is reserved.
	ErrBelowReserved = apperr.New(apperr.KindConflict, "inventory.below_reserved", "on_hand cannot go below the units reserved for orders")

	// ErrInsufficientStock means not enough units are available for an order's reservation. The
	// checkout saga answers it by cancelling the order with a reason; clients see the reason, not
	// this code.
	ErrInsufficientStock = apperr.New(apperr.KindConflict, "inventory.insufficient_stock", "not enough units are available")
	// ErrInvalidReservation means a reservation asked of inventory has no lines, a line without a
	// product, or a quantity below 1. Only the checkout saga makes reservations.
	ErrInvalidReservation = apperr.New(apperr.KindInvalid, "inventory.invalid_reservation", "the reservation has invalid lines")
	// ErrReservationNotFound means the order has no reservation to commit or release. Only the
	// checkout saga uses reservations.
	ErrReservationNotFound = apperr.New(apperr.KindNotFound, "inventory.reservation_not_found", "the order has no reservation")
	// ErrReservationState means the reservation cannot make this change in its state, for example
	// committing a released one. Only the checkout saga uses reservations.
	ErrReservationState = apperr.New(apperr.KindConflict, "inventory.reservation_state", "the reservation is not in a state that allows this")
)
