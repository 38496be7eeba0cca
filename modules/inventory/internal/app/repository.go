package app

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/internal/domain"
)

// The app owns the interface of what it stores; internal/adapters/pg
// implements it, and module.go wires the two.

// Errors of the repository.
var (
	// ErrNoRecord means inventory has no stock row for the product yet.
	ErrNoRecord = errors.New("inventory: no stock record")
	// ErrNoReservation means the order has no reservation.
	ErrNoReservation = errors.New("inventory: no reservation")
	// ErrReserved means a reservation exists after all.
	ErrReserved = errors.New("inventory: the order holds a reservation")
)

// Stock stores stock records and reservations. A change of stock commits
// together with one stock-changed event per item it changed. Stock rows
// are locked in product ID order, so two changes never wait for each
// other in a cycle.
type Stock interface {
	// Track creates the empty stock record of a product, with no event;
	// nothing if it exists.
	Track(ctx context.Context, productID uuid.UUID) error
	// Get returns a product's stock; ErrNoRecord if it has no record.
	Get(ctx context.Context, productID uuid.UUID) (*domain.Item, error)
	// Update locks a product's stock, applies change and, if change
	// reports a modification, stores the result; ErrNoRecord if it has no
	// record.
	Update(ctx context.Context, productID uuid.UUID, change func(*domain.Item) (bool, error)) (*domain.Item, error)
	// Reserve stores the new reservation res if place, given the order's
	// existing reservation (nil if none) and the locked stock of res's
	// products, reports true. An order released before (see
	// ReleaseUnreserved) is refused with inventoryapi.ErrReservationState.
	Reserve(ctx context.Context, res *domain.Reservation, place func(existing *domain.Reservation, items domain.Items) (bool, error)) error
	// ReleaseUnreserved records (with no event) that an order without a
	// reservation was released, so a Reserve arriving later is refused;
	// ErrReserved if a reservation appeared meanwhile (release it normally
	// then).
	ReleaseUnreserved(ctx context.Context, orderID uuid.UUID) error
	// Transition locks the order's reservation and the stock of its
	// products and lets change move it; when change reports true, the new
	// state and the items are stored. ErrNoReservation if the order has none.
	Transition(ctx context.Context, orderID uuid.UUID, change func(*domain.Reservation, domain.Items) (bool, error)) error
}
