package domain

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
