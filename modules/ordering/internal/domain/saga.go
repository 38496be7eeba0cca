package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/orderingapi"
)

// Step is where an order's checkout (or cancellation) saga stands. Forward
// steps do the work; when one fails for good, the compensating steps undo
// what was done, in reverse order, and the order ends cancelled.
type Step string

// The steps. Stored as text: append new ones, never rename.
const (
	StepReserve       Step = "reserve"        // hold the stock
	StepCharge        Step = "charge"         // authorize and capture the payment
	StepConfirm       Step = "confirm"        // commit the stock, confirm the order
	StepCancelPayment Step = "cancel_payment" // make sure nothing is charged (compensates charge)
	StepRelease       Step = "release"        // let go of the held stock (compensates reserve)
	StepRefund        Step = "refund"         // return a captured payment (cancelling a confirmed order)
	StepRestock       Step = "restock"        // return shipped units (cancelling a confirmed order)
	StepCancel        Step = "cancel"         // mark the order cancelled
	StepDone          Step = "done"
)

// Next is the step after s succeeded.
func (s Step) Next() Step {
	switch s {
	case StepReserve:
		return StepCharge
	case StepCharge:
		return StepConfirm
	case StepCancelPayment:
		return StepRelease
	case StepRelease:
		return StepCancel
	case StepRefund:
		return StepRestock
	case StepRestock:
		return StepCancel
	}
	return StepDone // confirm, cancel
}

// Compensation is the step that starts undoing after s failed for good.
// Compensating steps and the final ones never fail for good: they are
// retried until they succeed, which is why they are all idempotent.
func (s Step) Compensation() (Step, bool) {
	switch s {
	case StepReserve:
		return StepRelease, true // a reservation that timed out may still have been made
	case StepCharge:
		return StepCancelPayment, true // a charge that timed out may still complete
	}
	return "", false
}

// Forward reports whether s is part of the checkout proper, which has a
// deadline; past it, a failing forward step compensates instead of retrying.
func (s Step) Forward() bool { return s == StepReserve || s == StepCharge }

// Terminal reports whether s ends the saga: its success is the saga's end
// (the order confirmed or cancelled), recorded by Saga.Finish.
func (s Step) Terminal() bool { return s == StepConfirm || s == StepCancel }

// compensating reports whether s undoes work: from it on, the saga ends
// with the order cancelled, for a reason.
func (s Step) compensating() bool {
	switch s {
	case StepCancelPayment, StepRelease, StepRefund, StepRestock, StepCancel:
		return true
	}
	return false
}

// known reports whether this version knows s.
func (s Step) known() bool { return s.Forward() || s.Terminal() || s.compensating() || s == StepDone }

// Outcome is how a saga ended.
type Outcome string

// The outcomes of a saga.
const (
	OutcomeConfirmed          Outcome = "confirmed"           // checkout succeeded
	OutcomeCancelled          Outcome = "cancelled"           // checkout failed and was compensated
	OutcomeCancelledConfirmed Outcome = "cancelled_confirmed" // a confirmed order was cancelled: refunded, restocked
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeConfirmed, OutcomeCancelled, OutcomeCancelledConfirmed}

// ErrSagaTransition means a saga was asked for a change its step does not
// allow, for example to finish a saga still reserving stock: a bug of the
// caller, never the customer's doing, so it is no problem type of the API.
var ErrSagaTransition = errors.New("ordering: the saga's step does not allow this change")

// Saga is an order's checkout saga (and, later, its cancellation): the step
// it is at, why it compensates once it does, and the failed attempts of the
// step. Its fields change only through its methods, which keep these rules:
//
//   - the step is one this version knows; a saga at StepDone changes no more,
//     except that a confirmed order's saga starts again to cancel it;
//   - a compensating saga has a reason, and a forward one has none;
//   - the payment token is kept until the saga ends, then forgotten;
//   - only a terminal step (confirm, cancel) ends the saga, and it ends it
//     together with the order's change.
//
// Each change also records the timeline entry that describes it (Entries).
// Which worker may change a saga (its lease) is no business of the saga's:
// the repository fences every write.
type Saga struct {
	orderID      uuid.UUID
	step         Step
	reason       string
	paymentToken string
	attempts     int
	deadline     time.Time
	traceparent  string
	retryIn      time.Duration
	entries      []Entry
}

// SagaRecord is a saga as stored. Only storage adapters use it.
type SagaRecord struct {
	OrderID      uuid.UUID
	Step         Step
	Reason       string
	PaymentToken string
	Attempts     int
	Deadline     time.Time // of the forward steps
	Traceparent  string    // of the request that started the saga: its steps continue that trace
}

// Entry is one line the saga adds to its timeline, at the time of the
// change. Retry marks a failed attempt: consecutive ones of a step are
// stored as one line.
type Entry struct {
	Step    Step
	Outcome string
	Detail  string
	Retry   bool
	At      time.Time
}

// NewSaga starts the checkout of a placed order at StepReserve. deadline
// bounds the forward steps; traceparent is the placing request's trace.
func NewSaga(orderID uuid.UUID, paymentToken string, deadline time.Time, traceparent string) *Saga {
	return &Saga{orderID: orderID, step: StepReserve, paymentToken: paymentToken, deadline: deadline, traceparent: traceparent}
}

// RehydrateSaga rebuilds a stored saga. Only storage adapters call it.
func RehydrateSaga(r SagaRecord) *Saga {
	return &Saga{orderID: r.OrderID, step: r.Step, reason: r.Reason, paymentToken: r.PaymentToken, attempts: r.Attempts,
		deadline: r.Deadline, traceparent: r.Traceparent}
}

// Clone returns a copy of the saga, its entries included, to change
// tentatively.
func (s *Saga) Clone() *Saga {
	c := *s
	c.entries = slices.Clone(s.entries)
	return &c
}

// Record returns the saga as it is to be stored.
func (s *Saga) Record() SagaRecord {
	return SagaRecord{OrderID: s.orderID, Step: s.step, Reason: s.reason, PaymentToken: s.paymentToken, Attempts: s.attempts,
		Deadline: s.deadline, Traceparent: s.traceparent}
}

// Succeed records that the current step is done, at now: the saga goes on
// with the next one at once. A terminal step ends the saga through Finish
// instead.
func (s *Saga) Succeed(now time.Time) error {
	if !s.step.known() || s.step == StepDone || s.step.Terminal() {
		return fmt.Errorf("%w: step %q cannot simply succeed", ErrSagaTransition, s.step)
	}
	next := s.step.Next()
	s.moveTo(next, Entry{Step: s.step, Outcome: "done, next " + string(next), At: now})
	return nil
}

// Fail records that the current forward step failed for good at now, for
// reason: the saga compensates, starting with the step's own undo (a call
// that failed may still have happened).
func (s *Saga) Fail(reason string, now time.Time) error {
	next, ok := s.step.Compensation()
	if !ok {
		return fmt.Errorf("%w: step %s cannot fail for good: %s", ErrSagaTransition, s.step, reason)
	}
	if reason == "" {
		return fmt.Errorf("%w: a failing saga needs a reason", ErrSagaTransition)
	}
	from := s.step
	s.reason = reason
	s.moveTo(next, Entry{Step: from, Outcome: "failed, compensating with " + string(next), At: now})
	return nil
}

// Retry records a failed attempt of the current step at now, to be tried
// again after delay.
func (s *Saga) Retry(delay time.Duration, detail string, now time.Time) error {
	if s.step == StepDone || !s.step.known() {
		return fmt.Errorf("%w: step %q is not retried", ErrSagaTransition, s.step)
	}
	s.attempts++
	s.retryIn = max(delay, 0)
	s.entries = append(s.entries, Entry{Step: s.step, Outcome: "retry", Detail: detail, Retry: true, At: now})
	return nil
}

// Finish ends the saga at its terminal step together with its order: at
// StepConfirm the order is confirmed, at StepCancel it is cancelled with
// the saga's reason. It returns how the saga ended.
func (s *Saga) Finish(o *Order, now time.Time) (Outcome, error) {
	if o.ID() != s.orderID {
		return "", fmt.Errorf("%w: the order is not the saga's", ErrSagaTransition)
	}
	var outcome Outcome
	switch s.step {
	case StepConfirm:
		if err := o.Confirm(now); err != nil {
			return "", err
		}
		outcome = OutcomeConfirmed
	case StepCancel:
		outcome = OutcomeCancelled
		if o.Status() == orderingapi.StatusConfirmed {
			outcome = OutcomeCancelledConfirmed
		}
		if err := o.Cancel(s.reason, now); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("%w: a saga at step %q cannot finish", ErrSagaTransition, s.step)
	}
	from := s.step
	s.paymentToken = "" // no step needs it any more
	s.moveTo(StepDone, Entry{Step: from, Outcome: "done, order " + o.Status(), At: now})
	return outcome, nil
}

// StartCancellation turns the finished saga of a confirmed order into its
// cancellation: refund, restock, cancel, for reason. A cancellation already
// under way is left as it is. Other orders cannot be cancelled
// (orderingapi.ErrNotCancellable); a cancelled one needs nothing, which the
// caller decides before.
func (s *Saga) StartCancellation(o *Order, reason, traceparent string, now time.Time) error {
	if o.ID() != s.orderID {
		return fmt.Errorf("%w: the order is not the saga's", ErrSagaTransition)
	}
	if o.Status() != orderingapi.StatusConfirmed {
		return orderingapi.ErrNotCancellable.WithMessage("the order is " + o.Status())
	}
	if s.step != StepDone {
		return nil // its cancellation is running
	}
	if reason == "" {
		return fmt.Errorf("%w: a cancellation needs a reason", ErrSagaTransition)
	}
	s.reason, s.deadline, s.traceparent = reason, now, traceparent
	s.moveTo(StepRefund, Entry{Step: StepDone, Outcome: "cancellation requested", Detail: reason, At: now})
	return nil
}

func (s *Saga) moveTo(next Step, e Entry) {
	s.step, s.attempts, s.retryIn = next, 0, 0
	s.entries = append(s.entries, e)
}

// OrderID is the order the saga works on.
func (s *Saga) OrderID() uuid.UUID { return s.orderID }

// Step is the step the saga is at.
func (s *Saga) Step() Step { return s.step }

// Reason is why the saga compensates; "" while it goes forward.
func (s *Saga) Reason() string { return s.reason }

// Compensating reports whether the saga is undoing what it did.
func (s *Saga) Compensating() bool { return s.reason != "" && s.step != StepDone }

// Done reports whether the saga ended.
func (s *Saga) Done() bool { return s.step == StepDone }

// PaymentToken is the card token the charge step uses; "" once the saga ended.
func (s *Saga) PaymentToken() string { return s.paymentToken }

// Attempts counts the failed attempts of the current step.
func (s *Saga) Attempts() int { return s.attempts }

// PastDeadline reports whether the forward steps' time is up at now.
func (s *Saga) PastDeadline(now time.Time) bool { return now.After(s.deadline) }

// Traceparent is the trace context of the request that started the saga.
func (s *Saga) Traceparent() string { return s.traceparent }

// RetryIn is how long until the current step's next attempt: 0 means at
// once, by the worker that holds the saga.
func (s *Saga) RetryIn() time.Duration { return s.retryIn }

// Entries returns the timeline entries of the changes made since the saga
// was loaded, oldest first: none means nothing changed.
func (s *Saga) Entries() []Entry { return append([]Entry(nil), s.entries...) }
