package paymentsapi

import "github.com/google/uuid"

// Integration event types (topics) payments publishes. These are the public
// contract; the event store's own events are internal and may differ.
const (
	PaymentCaptured = "payments.payment_captured"
	PaymentFailed   = "payments.payment_failed"
	PaymentRefunded = "payments.payment_refunded"
)

// PaymentCapturedV1 announces that an order's money was taken.
type PaymentCapturedV1 struct {
	PaymentID  uuid.UUID `json:"payment_id"`
	OrderID    uuid.UUID `json:"order_id"`
	CustomerID uuid.UUID `json:"customer_id"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
}

func (PaymentCapturedV1) EventType() string     { return PaymentCaptured }
func (PaymentCapturedV1) EventVersion() int     { return 1 }
func (e PaymentCapturedV1) AggregateID() string { return e.OrderID.String() }

// PaymentFailedV1 announces a declined or failed charge.
type PaymentFailedV1 struct {
	PaymentID  uuid.UUID `json:"payment_id"`
	OrderID    uuid.UUID `json:"order_id"`
	CustomerID uuid.UUID `json:"customer_id"`
	Reason     string    `json:"reason"`
}

func (PaymentFailedV1) EventType() string     { return PaymentFailed }
func (PaymentFailedV1) EventVersion() int     { return 1 }
func (e PaymentFailedV1) AggregateID() string { return e.OrderID.String() }

// PaymentRefundedV1 announces money returned to the customer.
type PaymentRefundedV1 struct {
	PaymentID  uuid.UUID `json:"payment_id"`
	OrderID    uuid.UUID `json:"order_id"`
	CustomerID uuid.UUID `json:"customer_id"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	Reason     string    `json:"reason"`
}

func (PaymentRefundedV1) EventType() string     { return PaymentRefunded }
func (PaymentRefundedV1) EventVersion() int     { return 1 }
func (e PaymentRefundedV1) AggregateID() string { return e.OrderID.String() }
