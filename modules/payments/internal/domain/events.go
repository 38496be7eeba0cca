package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is a fact in a payment's life. Its concrete types below are the
// event store's internal events; the integration events other modules hear
// are paymentsapi's and are mapped from these by the application.
//
// A stored schema version is never changed: a new shape gets a new version
// and an upcaster from the previous one (see Decode).
type Event interface {
	EventType() string // e.g. "payment.authorized"
	EventVersion() int // the current schema version of this type
	apply(p *Payment)
}

// Recorded is an event at its place in a stream.
type Recorded struct {
	Version    int // position in the stream, from 1
	OccurredAt time.Time
	Event      Event
}

// Event types.
const (
	TypeInitiated  = "payment.initiated"
	TypeAuthorized = "payment.authorized"
	TypeCaptured   = "payment.captured"
	TypeFailed     = "payment.failed"
	TypeVoided     = "payment.voided"
	TypeRefunded   = "payment.refunded"
	TypeCancelled  = "payment.cancelled"
)

// Initiated opens a payment: what is to be charged, for which order.
type Initiated struct {
	PaymentID  uuid.UUID `json:"payment_id"`
	OrderID    uuid.UUID `json:"order_id"`
	CustomerID uuid.UUID `json:"customer_id"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
}

// Authorized records that the provider holds the amount on the card.
// Version 2 added Method; version 1 called ProviderRef auth_code.
type Authorized struct {
	ProviderRef string `json:"provider_ref"`
	Method      string `json:"method"` // how the customer paid, e.g. "card"
}

// Captured records that the money was taken.
type Captured struct {
	ProviderRef string `json:"provider_ref"`
	Amount      int64  `json:"amount"`
}

// Failed records a charge that ended without money taken: the provider
// declined the authorization or the capture.
type Failed struct {
	Reason string `json:"reason"` // the provider's reason, e.g. "card_declined"
	Stage  string `json:"stage"`  // "authorize" or "capture"
}

// Voided records that a charge in progress was called off before any money
// was taken, because its order was cancelled.
type Voided struct {
	Reason string `json:"reason"`
}

// Refunded records that captured money was returned.
type Refunded struct {
	ProviderRef string `json:"provider_ref"`
	Amount      int64  `json:"amount"`
	Reason      string `json:"reason"`
}

// Cancelled opens the stream of an order cancelled before any charge, so
// that a charge arriving later is refused.
type Cancelled struct {
	PaymentID uuid.UUID `json:"payment_id"` // the stream's ID
	OrderID   uuid.UUID `json:"order_id"`
	Reason    string    `json:"reason"`
}

func (Initiated) EventType() string  { return TypeInitiated }
func (Authorized) EventType() string { return TypeAuthorized }
func (Captured) EventType() string   { return TypeCaptured }
func (Failed) EventType() string     { return TypeFailed }
func (Voided) EventType() string     { return TypeVoided }
func (Refunded) EventType() string   { return TypeRefunded }
func (Cancelled) EventType() string  { return TypeCancelled }

func (Initiated) EventVersion() int  { return 1 }
func (Authorized) EventVersion() int { return 2 }
func (Captured) EventVersion() int   { return 1 }
func (Failed) EventVersion() int     { return 1 }
func (Voided) EventVersion() int     { return 1 }
func (Refunded) EventVersion() int   { return 1 }
func (Cancelled) EventVersion() int  { return 1 }

// Events returns one zero value of every event type, for exhaustive tests.
func Events() []Event {
	return []Event{Initiated{}, Authorized{}, Captured{}, Failed{}, Voided{}, Refunded{}, Cancelled{}}
}

// decoders read the current version of each event type.
var decoders = map[string]func([]byte) (Event, error){
	TypeInitiated:  decodeAs[Initiated],
	TypeAuthorized: decodeAs[Authorized],
	TypeCaptured:   decodeAs[Captured],
	TypeFailed:     decodeAs[Failed],
	TypeVoided:     decodeAs[Voided],
	TypeRefunded:   decodeAs[Refunded],
	TypeCancelled:  decodeAs[Cancelled],
}

// currentVersions is the schema version this code writes, by event type.
var currentVersions = func() map[string]int {
	m := map[string]int{}
	for _, e := range Events() {
		m[e.EventType()] = e.EventVersion()
	}
	return m
}()

type upcastKey struct {
	typ  string
	from int
}

// upcasters turn an event's data from one schema version into the next.
// Loading applies them in a chain, so an event of any old version reads as
// the current one; the stored rows are never rewritten.
var upcasters = map[upcastKey]func([]byte) ([]byte, error){
	{TypeAuthorized, 1}: authorizedV1ToV2,
}

// authorizedV1ToV2 renames auth_code to provider_ref and adds method. Only
// cards existed when version 1 was written, so "card" is exact, not a guess.
func authorizedV1ToV2(data []byte) ([]byte, error) {
	var v1 struct {
		AuthCode string `json:"auth_code"`
	}
	if err := strictUnmarshal(data, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(Authorized{ProviderRef: v1.AuthCode, Method: MethodCard})
}

// Encode returns an event's type, schema version and data for storage.
func Encode(e Event) (typ string, version int, data []byte, err error) {
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("payments: encode %s: %w", e.EventType(), err)
	}
	return e.EventType(), e.EventVersion(), data, nil
}

// Decode reads a stored event, upcasting it from its schema version to the
// current one. An unknown type, or a version newer than this code knows,
// is an error: folding an event one does not understand would corrupt the
// state.
func Decode(typ string, version int, data []byte) (Event, error) {
	decode, ok := decoders[typ]
	if !ok {
		return nil, fmt.Errorf("payments: unknown event type %q", typ)
	}
	current := currentVersions[typ]
	if version < 1 || version > current {
		return nil, fmt.Errorf("payments: %s version %d is unknown (this code reads up to %d)", typ, version, current)
	}
	for v := version; v < current; v++ {
		up, ok := upcasters[upcastKey{typ, v}]
		if !ok {
			return nil, fmt.Errorf("payments: no upcaster for %s version %d", typ, v)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("payments: upcast %s from version %d: %w", typ, v, err)
		}
	}
	e, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("payments: decode %s version %d: %w", typ, current, err)
	}
	return e, nil
}

func decodeAs[E Event](data []byte) (Event, error) {
	var e E
	if err := strictUnmarshal(data, &e); err != nil {
		return nil, err
	}
	return e, nil
}

// strictUnmarshal refuses unknown fields: data that does not fit the shape
// its version promises means an upcaster or a writer is wrong.
func strictUnmarshal(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}
