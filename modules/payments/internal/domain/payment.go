// Package domain holds the rules of payments: the Payment aggregate, rebuilt
// by folding its events; the decisions that produce new events; and the
// Provider port of the anti-corruption layer. It does no I/O and never reads
// the clock: callers pass the time in.
package domain

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
)

// Limits of a charge and a reason.
const (
	MaxAmount      = 1<<53 - 1 // the largest integer every JSON client reads exactly
	MaxTokenLen    = 200
	MaxReasonLen   = 500
	authorizeStage = "authorize"
	captureStage   = "capture"
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Status is where a payment is in its life. The zero value is a payment
// with no events yet.
type Status struct{ name string }

// The statuses. Only Authorized, Captured, Failed (which includes Voided)
// and Refunded are shown outside the module; see Visible.
var (
	StatusNew        = Status{}
	StatusCancelled  = Status{"cancelled"} // the order was cancelled before any charge
	StatusInitiated  = Status{"initiated"} // waiting for the provider's authorization
	StatusAuthorized = Status{"authorized"}
	StatusCaptured   = Status{"captured"}
	StatusFailed     = Status{"failed"} // declined
	StatusVoided     = Status{"voided"} // called off before capture
	StatusRefunded   = Status{"refunded"}
)

var statuses = []Status{StatusCancelled, StatusInitiated, StatusAuthorized, StatusCaptured, StatusFailed, StatusVoided, StatusRefunded}

func (s Status) String() string {
	if s.name == "" {
		return "new"
	}
	return s.name
}

func parseStatus(name string) (Status, bool) {
	for _, s := range statuses {
		if s.name == name {
			return s, true
		}
	}
	return Status{}, false
}

// Payment is the aggregate of one payment stream. Its state is the fold of
// its events; it changes only by recording new ones.
type Payment struct {
	id         uuid.UUID
	orderID    uuid.UUID
	customerID uuid.UUID
	amount     int64
	currency   string
	status     Status
	ref        string // the provider's reference of the latest step
	method     string
	reason     string // why it failed, was voided, cancelled or refunded
	version    int    // events applied, stored or not
	lastAt     time.Time
	applied    []Recorded // since it was rebuilt: from event 1, unless from a snapshot
	pending    []Recorded
}

// ValidateCharge checks a charge's fields, reporting every bad one.
func ValidateCharge(in paymentsapi.ChargeInput) error {
	var v apperr.Validator
	v.Check(in.OrderID != uuid.Nil, "order_id", "required, a UUID")
	v.Check(in.CustomerID != uuid.Nil, "customer_id", "required, a UUID")
	v.Check(in.Amount > 0 && in.Amount <= MaxAmount, "amount", "a positive whole number of minor units, at most 9007199254740991")
	v.Check(currencyCode.MatchString(in.Currency), "currency", "an ISO 4217 code such as EUR or USD")
	v.Check(in.Token != "" && len(in.Token) <= MaxTokenLen && utf8.ValidString(in.Token), "token",
		"required, at most 200 bytes of UTF-8")
	return v.Err(paymentsapi.ErrInvalidCharge.Code)
}

// NormalizeReason trims a cancel or refund reason, using def when it is
// empty, and checks its length.
func NormalizeReason(reason, def string) (string, error) {
	reason = strings.TrimSpace(reason)
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxReasonLen {
		return "", paymentsapi.ErrInvalidReason
	}
	if reason == "" {
		return def, nil
	}
	return reason, nil
}

// Initiate validates a charge and opens the payment id for it.
func Initiate(id uuid.UUID, in paymentsapi.ChargeInput, now time.Time) (*Payment, error) {
	if err := ValidateCharge(in); err != nil {
		return nil, err
	}
	p := &Payment{}
	p.record(now, Initiated{PaymentID: id, OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount, Currency: in.Currency})
	return p, nil
}

// CancelUnpaid opens the stream id of an order cancelled before any charge,
// so a charge arriving later is refused.
func CancelUnpaid(id, orderID uuid.UUID, reason string, now time.Time) *Payment {
	p := &Payment{}
	p.record(now, Cancelled{PaymentID: id, OrderID: orderID, Reason: reason})
	return p
}

// Rebuild returns the payment from a snapshot's state (nil to start from
// nothing) and the events after it, in order.
func Rebuild(from *State, events []Recorded) (*Payment, error) {
	p := &Payment{}
	if from != nil {
		var err error
		if p, err = from.restore(); err != nil {
			return nil, err
		}
	}
	for _, r := range events {
		if r.Version != p.version+1 {
			return nil, fmt.Errorf("payments: stream %s: event version %d after %d", p.id, r.Version, p.version)
		}
		_, opens := r.Event.(Initiated)
		if _, c := r.Event.(Cancelled); c {
			opens = true
		}
		if opens != (p.version == 0) {
			return nil, fmt.Errorf("payments: stream %s: %s at version %d", p.id, r.Event.EventType(), r.Version)
		}
		p.apply(r)
	}
	return p, nil
}

// ErrTransition means a decision was asked of a payment in a status that does not allow it;
// callers check Status first, so it is a bug, and clients see it as the problem internal.
var ErrTransition = apperr.New(apperr.KindInternal, "payments.invalid_transition", "the payment cannot do this in its status")

func (p *Payment) transition(op string, allowed ...Status) error {
	for _, s := range allowed {
		if p.status == s {
			return nil
		}
	}
	return ErrTransition.WithMessage(fmt.Sprintf("cannot %s a payment that is %s", op, p.status))
}

// Authorize records the provider's answer to the authorization: authorized,
// or failed if it declined.
func (p *Payment) Authorize(o Outcome, now time.Time) ([]Recorded, error) {
	if err := p.transition("authorize", StatusInitiated); err != nil {
		return nil, err
	}
	if o.Declined != "" {
		return p.record(now, Failed{Reason: o.Declined, Stage: authorizeStage}), nil
	}
	method := o.Method
	if method == "" {
		method = MethodCard
	}
	return p.record(now, Authorized{ProviderRef: o.Ref, Method: method}), nil
}

// Capture records the provider's answer to the capture: captured, or failed
// if it declined.
func (p *Payment) Capture(o Outcome, now time.Time) ([]Recorded, error) {
	if err := p.transition("capture", StatusAuthorized); err != nil {
		return nil, err
	}
	if o.Declined != "" {
		return p.record(now, Failed{Reason: o.Declined, Stage: captureStage}), nil
	}
	return p.record(now, Captured{ProviderRef: o.Ref, Amount: p.amount}), nil
}

// RecoverCapture records a capture the provider reports (it refused a void
// because it had captured) that the payment never recorded: a charge
// stopped between the provider's answers and their record, or has yet to
// record them. From initiated, the authorization was not recorded either;
// the capture stands for both.
func (p *Payment) RecoverCapture(o Outcome, now time.Time) ([]Recorded, error) {
	if p.status == StatusInitiated && o.Declined == "" {
		return p.record(now, Captured{ProviderRef: o.Ref, Amount: p.amount}), nil
	}
	return p.Capture(o, now)
}

// Void records that a charge in progress was called off (the provider
// accepted the void).
func (p *Payment) Void(reason string, now time.Time) ([]Recorded, error) {
	if err := p.transition("void", StatusInitiated, StatusAuthorized); err != nil {
		return nil, err
	}
	return p.record(now, Voided{Reason: reason}), nil
}

// Refund records the provider's refund of a captured payment. A refund the
// provider declined changes nothing and is ErrProviderRefused.
func (p *Payment) Refund(o Outcome, reason string, now time.Time) ([]Recorded, error) {
	if err := p.transition("refund", StatusCaptured); err != nil {
		return nil, err
	}
	if o.Declined != "" {
		return nil, paymentsapi.ErrProviderRefused.WithMessage("the payment provider refused the refund: " + o.Declined)
	}
	return p.record(now, Refunded{ProviderRef: o.Ref, Amount: p.amount, Reason: reason}), nil
}

// Matches reports ErrChargeMismatch when in asks for another amount,
// currency or customer than the payment was opened with. An order
// cancelled before any charge has nothing to compare and matches.
func (p *Payment) Matches(in paymentsapi.ChargeInput) error {
	if p.status == StatusCancelled {
		return nil
	}
	if in.CustomerID != p.customerID || in.Amount != p.amount || in.Currency != p.currency {
		return paymentsapi.ErrChargeMismatch
	}
	return nil
}

// record stamps e with its version and time, applies it and keeps it as
// uncommitted. Times are kept to the microsecond, which is what Postgres
// stores, so a reloaded payment equals the live one; they never go back
// within a stream, so "the state at time t" is always a prefix of it.
func (p *Payment) record(now time.Time, e Event) []Recorded {
	at := now.UTC().Truncate(time.Microsecond)
	if at.Before(p.lastAt) {
		at = p.lastAt
	}
	r := Recorded{Version: p.version + 1, OccurredAt: at, Event: e}
	p.apply(r)
	p.pending = append(p.pending, r)
	return []Recorded{r}
}

func (p *Payment) apply(r Recorded) {
	r.Event.apply(p)
	p.version = r.Version
	p.lastAt = r.OccurredAt
	p.applied = append(p.applied, r)
}

func (e Initiated) apply(p *Payment) {
	p.id, p.orderID, p.customerID = e.PaymentID, e.OrderID, e.CustomerID
	p.amount, p.currency, p.status = e.Amount, e.Currency, StatusInitiated
}

func (e Authorized) apply(p *Payment) {
	p.ref, p.method, p.status = e.ProviderRef, e.Method, StatusAuthorized
}

func (e Captured) apply(p *Payment) { p.ref, p.status = e.ProviderRef, StatusCaptured }

func (e Failed) apply(p *Payment) { p.reason, p.status = e.Reason, StatusFailed }

func (e Voided) apply(p *Payment) { p.reason, p.status = e.Reason, StatusVoided }

func (e Refunded) apply(p *Payment) {
	p.ref, p.reason, p.status = e.ProviderRef, e.Reason, StatusRefunded
}

func (e Cancelled) apply(p *Payment) {
	p.id, p.orderID, p.reason, p.status = e.PaymentID, e.OrderID, e.Reason, StatusCancelled
}

// ID is the payment's ID, which is also its stream's.
func (p *Payment) ID() uuid.UUID { return p.id }

// OrderID is the order the payment is for.
func (p *Payment) OrderID() uuid.UUID { return p.orderID }

// CustomerID is who pays; uuid.Nil for an order cancelled before any charge.
func (p *Payment) CustomerID() uuid.UUID { return p.customerID }

// Status is where the payment is in its life.
func (p *Payment) Status() Status { return p.status }

// Money is the amount charged.
func (p *Payment) Money() Money { return Money{Amount: p.amount, Currency: p.currency} }

// Reason says why the payment failed, was voided, cancelled or refunded.
func (p *Payment) Reason() string { return p.reason }

// Version is the number of events applied, including uncommitted ones.
func (p *Payment) Version() int { return p.version }

// Uncommitted returns the events recorded since the payment was loaded or
// last committed, and the stream version they were decided on.
func (p *Payment) Uncommitted() (expected int, events []Recorded) {
	return p.version - len(p.pending), p.pending
}

// MarkCommitted forgets the uncommitted events once they are stored.
func (p *Payment) MarkCommitted() { p.pending = nil }

// History returns the payment's events in order, stored or not, and
// whether they are all of them: a payment rebuilt from a snapshot does not
// hold the events before it.
func (p *Payment) History() ([]Recorded, bool) { return p.applied, len(p.applied) == p.version }

// Visible reports whether the payment is shown to other modules: once the
// provider has answered. Before that (initiated) the public statuses have no
// word for it, and an order cancelled before any charge has no payment.
func (p *Payment) Visible() bool {
	return p.status != StatusNew && p.status != StatusCancelled && p.status != StatusInitiated
}

// View returns the payment as other modules see it, with history, the
// payment's events in order, in their current schema versions.
func (p *Payment) View(history []Recorded) (paymentsapi.Payment, error) {
	v := paymentsapi.Payment{ID: p.id, OrderID: p.orderID, CustomerID: p.customerID, Amount: p.amount,
		Currency: p.currency, Events: make([]paymentsapi.Event, 0, len(history))}
	switch p.status {
	case StatusAuthorized:
		v.Status = paymentsapi.StatusAuthorized
	case StatusCaptured:
		v.Status = paymentsapi.StatusCaptured
	case StatusFailed:
		v.Status, v.FailureReason = paymentsapi.StatusFailed, p.reason
	case StatusVoided:
		v.Status, v.FailureReason = paymentsapi.StatusFailed, "voided: "+p.reason
	case StatusRefunded:
		v.Status = paymentsapi.StatusRefunded
	default:
		return paymentsapi.Payment{}, fmt.Errorf("payments: a %s payment has no public view", p.status)
	}
	for _, r := range history {
		typ, version, data, err := Encode(r.Event)
		if err != nil {
			return paymentsapi.Payment{}, err
		}
		v.Events = append(v.Events, paymentsapi.Event{Type: typ, Version: version, OccurredAt: r.OccurredAt, Data: data})
	}
	return v, nil
}
