package orderingapi

import (
	"time"

	"github.com/google/uuid"
)

// Event types (topics) ordering publishes.
const (
	OrderPlaced    = "ordering.order_placed"
	OrderConfirmed = "ordering.order_confirmed"
	OrderCancelled = "ordering.order_cancelled"
)

// OrderStateV1 is the whole order as of an event. Every ordering event
// carries it, so a consumer can apply events of different types in any
// order: it keeps the state with the highest Revision.
type OrderStateV1 struct {
	OrderID       uuid.UUID `json:"order_id"`
	CustomerID    uuid.UUID `json:"customer_id"`
	Status        string    `json:"status"`
	Items         []Line    `json:"items"`
	Total         int64     `json:"total"`
	Currency      string    `json:"currency"`
	FailureReason string    `json:"failure_reason"`
	Revision      int       `json:"revision"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// AggregateID is the order.
func (s OrderStateV1) AggregateID() string { return s.OrderID.String() }

// State returns the order state an event carries.
func (s OrderStateV1) State() OrderStateV1 { return s }

// OrderPlacedV1 announces an accepted order, still pending.
type OrderPlacedV1 struct{ OrderStateV1 }

func (OrderPlacedV1) EventType() string { return OrderPlaced }
func (OrderPlacedV1) EventVersion() int { return 1 }

// OrderConfirmedV1 announces a paid order whose stock was committed.
type OrderConfirmedV1 struct{ OrderStateV1 }

func (OrderConfirmedV1) EventType() string { return OrderConfirmed }
func (OrderConfirmedV1) EventVersion() int { return 1 }

// OrderCancelledV1 announces a cancelled order: checkout failed (stock,
// payment, timeout) or the customer cancelled it after confirmation.
// WasConfirmed tells the two apart.
type OrderCancelledV1 struct {
	OrderStateV1
	WasConfirmed bool `json:"was_confirmed"`
}

func (OrderCancelledV1) EventType() string { return OrderCancelled }
func (OrderCancelledV1) EventVersion() int { return 1 }
