// Package domain holds ordering's rules: what a valid order is, how its
// status may change, and the steps of the checkout saga.
package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/bus"
)

// Limits of an order.
const (
	MaxLines       = 50
	MaxQuantity    = 1000
	MaxTokenLength = 64
)

// Product is what the catalog said about a product when the order was placed.
type Product struct {
	ID       uuid.UUID
	Name     string
	Price    int64
	Currency string
}

// Order is ordering's aggregate. Its fields change only through its methods.
type Order struct {
	id            uuid.UUID
	customerID    uuid.UUID
	status        string
	lines         []orderingapi.Line
	total         int64
	currency      string
	failureReason string
	revision      int
	createdAt     time.Time
	updatedAt     time.Time
	changes       []Change
}

// Change is an event an order recorded when it changed; the repository
// publishes it in the change's transaction.
type Change interface {
	bus.Event
	State() orderingapi.OrderStateV1
}

// ValidateInput checks an order request before anything is looked up.
func ValidateInput(in orderingapi.PlaceOrderInput) error {
	var v apperr.Validator
	v.Check(len(in.Items) >= 1 && len(in.Items) <= MaxLines, "items", fmt.Sprintf("1 to %d lines", MaxLines))
	seen := map[uuid.UUID]bool{}
	for i, l := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		v.Check(l.ProductID != uuid.Nil, field+".product_id", "required")
		v.Check(!seen[l.ProductID], field+".product_id", "each product once; put the total in its quantity")
		v.Check(l.Quantity >= 1 && l.Quantity <= MaxQuantity, field+".quantity", fmt.Sprintf("a whole number from 1 to %d", MaxQuantity))
		seen[l.ProductID] = true
	}
	v.Check(validToken(in.Payment.Token), "payment.token", "required, printable, at most 64 characters")
	return v.Err(orderingapi.ErrInvalidOrder.Code)
}

func validToken(t string) bool {
	if t == "" || len(t) > MaxTokenLength {
		return false
	}
	return strings.IndexFunc(t, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' }) < 0
}

// NewOrder prices the lines of in with the catalog's products.
func NewOrder(id, customerID uuid.UUID, in orderingapi.PlaceOrderInput, products map[uuid.UUID]Product, now time.Time) (*Order, error) {
	if err := ValidateInput(in); err != nil {
		return nil, err
	}
	o := &Order{id: id, customerID: customerID, status: orderingapi.StatusPending, revision: 1, createdAt: now, updatedAt: now}
	for _, l := range in.Items {
		p, ok := products[l.ProductID]
		if !ok {
			return nil, orderingapi.ErrUnknownProduct.WithMessage(fmt.Sprintf("product %s does not exist", l.ProductID))
		}
		if o.currency == "" {
			o.currency = p.Currency
		} else if p.Currency != o.currency {
			return nil, orderingapi.ErrMixedCurrency
		}
		line := orderingapi.Line{ProductID: p.ID, Name: p.Name, Quantity: l.Quantity, UnitPrice: p.Price, LineTotal: p.Price * l.Quantity}
		o.lines = append(o.lines, line)
		o.total += line.LineTotal
	}
	o.changes = append(o.changes, orderingapi.OrderPlacedV1{OrderStateV1: o.State()})
	return o, nil
}

// Rehydrate rebuilds a stored order. Only storage adapters call it.
func Rehydrate(o orderingapi.Order, revision int) *Order {
	reason := ""
	if o.FailureReason != nil {
		reason = *o.FailureReason
	}
	return &Order{id: o.ID, customerID: o.CustomerID, status: o.Status, lines: o.Items, total: o.Total, currency: o.Currency,
		failureReason: reason, revision: revision, createdAt: o.CreatedAt, updatedAt: o.UpdatedAt}
}

// ErrStatus means the order's status does not allow the change asked of it, for example confirming
// a cancelled order. Only the checkout saga changes statuses, so clients do not see it.
var ErrStatus = apperr.New(apperr.KindConflict, "ordering.status_conflict", "the order's status does not allow this")

// Confirm marks a pending order paid and shipped from stock.
func (o *Order) Confirm(now time.Time) error {
	if o.status != orderingapi.StatusPending {
		return ErrStatus
	}
	o.status = orderingapi.StatusConfirmed
	o.touch(now)
	o.changes = append(o.changes, orderingapi.OrderConfirmedV1{OrderStateV1: o.State()})
	return nil
}

// Cancel ends a pending or confirmed order with a reason.
func (o *Order) Cancel(reason string, now time.Time) error {
	if o.status == orderingapi.StatusCancelled {
		return ErrStatus
	}
	wasConfirmed := o.status == orderingapi.StatusConfirmed
	o.status, o.failureReason = orderingapi.StatusCancelled, reason
	o.touch(now)
	o.changes = append(o.changes, orderingapi.OrderCancelledV1{OrderStateV1: o.State(), WasConfirmed: wasConfirmed})
	return nil
}

func (o *Order) touch(now time.Time) {
	o.revision++
	o.updatedAt = now
}

// Changes returns the events of the changes made since the order was
// created or loaded, oldest first.
func (o *Order) Changes() []Change { return append([]Change(nil), o.changes...) }

// CustomerID is who placed the order.
func (o *Order) CustomerID() uuid.UUID { return o.customerID }

// CreatedAt is when the order was placed.
func (o *Order) CreatedAt() time.Time { return o.createdAt }

// ID identifies the order.
func (o *Order) ID() uuid.UUID { return o.id }

// Status is pending, confirmed or cancelled.
func (o *Order) Status() string { return o.status }

// Revision counts the order's changes, starting at 1.
func (o *Order) Revision() int { return o.revision }

// Snapshot returns the order as a DTO.
func (o *Order) Snapshot() orderingapi.Order {
	var reason *string
	if o.failureReason != "" {
		r := o.failureReason
		reason = &r
	}
	return orderingapi.Order{ID: o.id, CustomerID: o.customerID, Status: o.status, Items: append([]orderingapi.Line(nil), o.lines...),
		Total: o.total, Currency: o.currency, FailureReason: reason, CreatedAt: o.createdAt, UpdatedAt: o.updatedAt}
}

// State is the order as every event carries it.
func (o *Order) State() orderingapi.OrderStateV1 {
	return orderingapi.OrderStateV1{OrderID: o.id, CustomerID: o.customerID, Status: o.status, Items: append([]orderingapi.Line(nil), o.lines...),
		Total: o.total, Currency: o.currency, FailureReason: o.failureReason, Revision: o.revision, CreatedAt: o.createdAt, UpdatedAt: o.updatedAt}
}
