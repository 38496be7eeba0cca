// Package orderingapi is the ordering module's public surface: orders, the
// checkout that turns them into confirmed or cancelled ones, and the events
// it publishes. Other modules may import only this package of ordering.
package orderingapi

//go:generate go run ../../../internal/rpcgen

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/page"
)

// Order statuses: pending until the checkout saga ends, then confirmed or cancelled.
const (
	StatusPending   = "pending"
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled"
)

// LineInput orders a quantity of one product.
type LineInput struct {
	ProductID uuid.UUID `json:"product_id"`
	Quantity  int64     `json:"quantity"`
}

// PaymentInput is how the customer pays: a card token from the client.
type PaymentInput struct {
	Token string `json:"token"`
}

// PlaceOrderInput is the body of POST /orders.
type PlaceOrderInput struct {
	Items   []LineInput  `json:"items"`
	Payment PaymentInput `json:"payment"`
}

// Placed is the answer to an accepted order: 202 {id, status:"pending"}.
type Placed struct {
	ID     uuid.UUID `json:"id"`
	Status string    `json:"status"`
}

// Line is an ordered product at the price it had when the order was placed.
// Amounts are in minor units of the order's currency.
type Line struct {
	ProductID uuid.UUID `json:"product_id"`
	Name      string    `json:"name"`
	Quantity  int64     `json:"quantity"`
	UnitPrice int64     `json:"unit_price"`
	LineTotal int64     `json:"line_total"`
}

// Order is an order as clients and other modules see it.
type Order struct {
	ID            uuid.UUID `json:"id"`
	CustomerID    uuid.UUID `json:"customer_id"`
	Status        string    `json:"status"`
	Items         []Line    `json:"items"`
	Total         int64     `json:"total"`
	Currency      string    `json:"currency"`
	FailureReason *string   `json:"failure_reason"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Customer is the local replica of the customer's identity shown with orders.
type Customer struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Email string    `json:"email"`
}

// OrderView is an order in a listing, from the read model.
type OrderView struct {
	Order
	Customer *Customer `json:"customer"`
}

// ListQuery selects a customer's orders, newest first.
type ListQuery struct {
	CustomerID uuid.UUID
	Status     string // "" for all
	Page       page.Request
}

// API is what ordering offers, in process or over HTTP.
type API interface {
	// PlaceOrder accepts an order and starts its checkout. The idempotency
	// key is scoped to the customer: the same key and body return the same
	// order; the same key with another body is ErrIdempotencyKeyReused.
	//rpc:idempotent
	PlaceOrder(ctx context.Context, customerID uuid.UUID, idempotencyKey string, in PlaceOrderInput) (Placed, error)
	//rpc:idempotent
	GetOrder(ctx context.Context, id uuid.UUID) (Order, error)
	// ListOrders reads the CQRS read model: it may lag the orders by a moment.
	//rpc:idempotent
	ListOrders(ctx context.Context, q ListQuery) (page.Page[OrderView], error)
	// CancelOrder cancels a confirmed order on behalf of by: the payment is
	// refunded and the stock returned by compensation. by is the order's
	// customer or an administrator (else auth.ErrForbidden); the order's
	// failure reason says which. It returns the order as it stands; the
	// status becomes cancelled when the compensation has run.
	//rpc:idempotent
	CancelOrder(ctx context.Context, id uuid.UUID, by auth.Principal) (Order, error)
}

// Errors of the API. Match them with errors.Is.
var (
	// ErrOrderNotFound means no order has this ID. GET /api/v1/orders lists the caller's own orders.
	ErrOrderNotFound = apperr.New(apperr.KindNotFound, "ordering.order_not_found", "no order with this id")
	// ErrInvalidOrder means an order breaks a field rule: one to fifty lines, each with a product_id
	// and a quantity from 1 to 1000, no product twice, and a payment token. The errors member names
	// each field that failed.
	ErrInvalidOrder = apperr.New(apperr.KindInvalid, "ordering.invalid_order", "the order has invalid fields")
	// ErrIdempotencyKeyMissing means POST /api/v1/orders came without an Idempotency-Key header. Send
	// a key that is new for each order (a UUID will do) and the same key when you retry the same
	// order, so a retry never places it twice.
	ErrIdempotencyKeyMissing = apperr.New(apperr.KindInvalid, "ordering.idempotency_key_missing", "the Idempotency-Key header is required")
	// ErrIdempotencyKeyInvalid means the Idempotency-Key header is empty, longer than 255 characters,
	// or holds characters other than printable ASCII. A UUID is a good key.
	ErrIdempotencyKeyInvalid = apperr.New(apperr.KindInvalid, "ordering.invalid_idempotency_key", "the Idempotency-Key must be 1-255 printable ASCII characters")
	// ErrIdempotencyKeyReused means the caller already used this Idempotency-Key for an order with
	// another body. Use a new key for a new order; the same key with the same body answers the order
	// it made.
	ErrIdempotencyKeyReused = apperr.New(apperr.KindUnprocessable, "ordering.idempotency_key_reused", "this Idempotency-Key was used with another request body")
	// ErrUnknownProduct means the order names a product the catalog does not have; nothing was
	// ordered. List the products with GET /api/v1/products.
	ErrUnknownProduct = apperr.New(apperr.KindUnprocessable, "ordering.unknown_product", "the order names a product that does not exist")
	// ErrMixedCurrency means the products of one order are priced in different currencies; place one
	// order per currency.
	ErrMixedCurrency = apperr.New(apperr.KindUnprocessable, "ordering.mixed_currency", "all products of an order must have the same currency")
	// ErrNotCancellable means the order cannot be cancelled in its status: only a confirmed order can
	// be. A pending order is still in its checkout; wait until it is confirmed or cancelled, then try
	// again.
	ErrNotCancellable = apperr.New(apperr.KindConflict, "ordering.not_cancellable", "only a confirmed order can be cancelled")
)
