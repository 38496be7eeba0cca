// Package paymentsapi is the payments module's public surface. Payments are
// event-sourced: a payment's state is the fold of its events, which the API
// also exposes. Other modules may import only this package of payments.
package paymentsapi

//go:generate go run ../../../internal/rpcgen

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/page"
)

// Status of a payment.
const (
	StatusAuthorized = "authorized"
	StatusCaptured   = "captured"
	StatusFailed     = "failed"
	StatusRefunded   = "refunded"
)

// Test card tokens the development provider understands (SPEC §4). Any
// other token is declined as invalid.
const (
	TokenOK      = "tok_ok"      // authorized and captured
	TokenDecline = "tok_decline" // declined by the card issuer
	TokenSlow    = "tok_slow"    // answers only after twice the payment timeout
)

// Payment is a payment's current state and its history. Amount is in minor
// units. FailureReason says why a failed payment failed (declined, or voided
// because its order was cancelled); it is empty otherwise.
type Payment struct {
	ID            uuid.UUID `json:"id"`
	OrderID       uuid.UUID `json:"order_id"`
	CustomerID    uuid.UUID `json:"customer_id"`
	Status        string    `json:"status"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	FailureReason string    `json:"failure_reason,omitempty"`
	Events        []Event   `json:"events"`
}

// Event is one entry of a payment's history: its type, schema version and
// time, plus its own fields (flattened into the same JSON object).
type Event struct {
	Type       string          `json:"-"`
	Version    int             `json:"-"`
	OccurredAt time.Time       `json:"-"`
	Data       json.RawMessage `json:"-"` // a JSON object of the event's own fields
}

// MarshalJSON writes {type, version, occurred_at, ...fields}. The fields are
// copied as raw JSON, so numbers keep every digit (an amount beyond 2^53
// would not survive a float64).
func (e Event) MarshalJSON() ([]byte, error) {
	fields := map[string]json.RawMessage{}
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &fields); err != nil {
			return nil, err
		}
		if fields == nil { // Data was JSON null: no fields of its own
			fields = map[string]json.RawMessage{}
		}
	}
	var err error
	if fields["type"], err = json.Marshal(e.Type); err != nil {
		return nil, err
	}
	if fields["version"], err = json.Marshal(e.Version); err != nil {
		return nil, err
	}
	// time.Time's own encoding is RFC 3339 and refuses years it could not
	// read back.
	if fields["occurred_at"], err = json.Marshal(e.OccurredAt.UTC()); err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}

// UnmarshalJSON reads what MarshalJSON writes. JSON null leaves e as it is,
// as encoding/json does for other types.
func (e *Event) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var head struct {
		Type       string    `json:"type"`
		Version    int       `json:"version"`
		OccurredAt time.Time `json:"occurred_at"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	delete(fields, "type")
	delete(fields, "version")
	delete(fields, "occurred_at")
	data, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	*e = Event{Type: head.Type, Version: head.Version, OccurredAt: head.OccurredAt, Data: data}
	return nil
}

// ChargeInput asks to authorize and capture an order's amount.
type ChargeInput struct {
	OrderID    uuid.UUID `json:"order_id"`
	CustomerID uuid.UUID `json:"customer_id"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	Token      string    `json:"token"` // the card token from the client: tok_ok, tok_decline, tok_slow
}

// API is what payments offers other modules, in process or over HTTP.
//
// Every method is idempotent per order: an order has at most one payment and
// its money is captured at most once, however often a call is repeated
// (after a timeout, a crash or a redelivery).
type API interface {
	// Charge authorizes and captures. Calling it again for the same order
	// returns the existing payment without charging again. A declined card
	// returns ErrDeclined (the failed payment is in ForOrder): like every
	// method here, Charge returns no result with an error, since none would
	// cross the wire when payments runs in another process.
	//rpc:idempotent
	Charge(ctx context.Context, in ChargeInput) (Payment, error)
	// Cancel makes sure the order is not charged: a captured payment is
	// refunded, a charge still in progress is voided, and a later Charge for
	// the order is refused with ErrCancelled. It is safe when there is no payment.
	//rpc:idempotent
	Cancel(ctx context.Context, orderID uuid.UUID, reason string) error
	// Refund returns a captured payment's money (a confirmed order cancelled).
	//rpc:idempotent
	Refund(ctx context.Context, orderID uuid.UUID, reason string) (Payment, error)
	// ForOrder lists the payments of an order (at most one), with their history.
	//rpc:idempotent
	ForOrder(ctx context.Context, orderID uuid.UUID) (page.Page[Payment], error)
}

// Errors of the API. Match them with errors.Is.
var (
	// ErrDeclined means the payment provider declined the card (the test token tok_decline always
	// is). The checkout saga then cancels the order with the reason "payment declined".
	ErrDeclined = apperr.New(apperr.KindUnprocessable, "payments.declined", "the card was declined")
	// ErrCancelled means the payment of this order was cancelled, so it cannot be charged any more.
	// Only the sagas charge and cancel payments.
	ErrCancelled = apperr.New(apperr.KindConflict, "payments.cancelled", "payment for this order was cancelled")
	// ErrNotCaptured means there is no captured payment to refund for this order. Only the
	// cancellation saga refunds.
	ErrNotCaptured = apperr.New(apperr.KindConflict, "payments.not_captured", "there is no captured payment to refund")
	// ErrInvalidCharge means a charge lacks an order, a customer, a positive amount, a currency or a
	// token. Only the checkout saga charges.
	ErrInvalidCharge = apperr.New(apperr.KindInvalid, "payments.invalid_charge", "the charge has invalid fields")
	// ErrProviderDown means the payment provider cannot be reached, or its circuit breaker is open
	// after repeated failures. The saga tries again later; the breaker's state is the
	// payments_provider_breaker_state metric.
	ErrProviderDown = apperr.New(apperr.KindUnavailable, "payments.provider_unavailable", "the payment provider is unavailable")
	// ErrPaymentNotFound means the order has no payment (yet). GET /api/v1/payments answers an empty
	// list instead.
	ErrPaymentNotFound = apperr.New(apperr.KindNotFound, "payments.payment_not_found", "no payment for this order")

	// ErrProviderTimeout means the provider did not answer within APP_PAYMENT_TIMEOUT (the test token
	// tok_slow never does). The outcome is unknown: repeat the call, or Cancel to make sure nothing
	// is charged.
	ErrProviderTimeout = apperr.New(apperr.KindTimeout, "payments.provider_timeout", "the payment provider did not answer in time")
	// ErrProviderRefused means the provider refused a refund or a void it should have accepted; the
	// payment is unchanged.
	ErrProviderRefused = apperr.New(apperr.KindUnavailable, "payments.provider_refused", "the payment provider refused the operation")
	// ErrChargeMismatch means the order already has a payment for another amount, currency or
	// customer.
	ErrChargeMismatch = apperr.New(apperr.KindConflict, "payments.charge_mismatch", "the order already has a payment with other details")
	// ErrInProgress means other calls kept changing the order's payment while this one ran; repeating
	// the call is safe.
	ErrInProgress = apperr.New(apperr.KindConflict, "payments.in_progress", "the order's payment is being changed by another request; try again")
	// ErrInvalidReason means a Cancel or Refund reason is longer than 500 characters or not valid
	// UTF-8.
	ErrInvalidReason = apperr.New(apperr.KindInvalid, "payments.invalid_reason", "the reason must be valid UTF-8 of at most 500 characters")
)
