package app

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/platform/bus"
)

// The app owns the interface of what it stores; internal/adapters/pg
// implements it over the event store, and module.go wires the two.

// Errors of the repository.
var (
	// ErrNotFound means the order has no payment.
	ErrNotFound = errors.New("payments: no payment for the order")
	// ErrConflict means another writer changed the payment (or opened one
	// for the order) first; nothing was stored: reload and decide again.
	ErrConflict = errors.New("payments: the payment changed concurrently")
)

// Payments stores each order's payment as a stream of events.
type Payments interface {
	// ByOrder loads the order's payment; ErrNotFound if it has none.
	ByOrder(ctx context.Context, orderID uuid.UUID) (*domain.Payment, error)
	// History loads the order's payment by replaying every event of its
	// stream, and returns the events too; ErrNotFound if it has none.
	History(ctx context.Context, orderID uuid.UUID) (*domain.Payment, []domain.Recorded, error)
	// Save appends the payment's uncommitted events, at the version it
	// was loaded at, together with the events that announce them to other
	// modules; ErrConflict if another writer got there first.
	Save(ctx context.Context, p *domain.Payment, announce ...bus.Event) error
}
