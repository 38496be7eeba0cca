package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
)

// slowPayments charges after a while, whatever the context says, like a
// payment whose record cannot be interrupted; with steal set it blocks
// until its context ends instead, and reports why.
type slowPayments struct {
	fakePayments
	take  time.Duration
	ended chan error // the cause of the charge's context's end
}

func (f *slowPayments) Charge(ctx context.Context, in paymentsapi.ChargeInput) (paymentsapi.Payment, error) {
	f.calls.add("charge")
	if f.ended != nil {
		<-ctx.Done()
		f.ended <- context.Cause(ctx)
		return paymentsapi.Payment{}, ctx.Err()
	}
	time.Sleep(f.take)
	return paymentsapi.Payment{OrderID: in.OrderID, Status: paymentsapi.StatusCaptured}, nil
}

// A step that outlasts the lease keeps its saga: the worker renews the
// lease while the step runs, so its own runner does not claim the saga a
// second time and run it twice at once (the charge running again beside
// the first, and both advancing the saga).
func TestAStepOutlastingTheLeaseRunsOnce(t *testing.T) {
	t.Parallel()
	c := &calls{}
	lease := 300 * time.Millisecond
	w := newWorldWith(t, &fakeInventory{calls: c}, &slowPayments{fakePayments: fakePayments{calls: c}, take: 4 * lease}, c,
		100*time.Millisecond, lease)
	o := w.place(t)
	time.Sleep(2 * lease) // a second claim would come about now
	if o.Status != orderingapi.StatusConfirmed || c.String() != "reserve charge commit" {
		t.Fatalf("%s after %q; want confirmed after one charge", o.Status, c)
	}
}

// A worker whose saga was claimed again (its lease ran out while it could
// not renew, say) learns it at its next renewal: its step is stopped, and
// it writes nothing, neither a retry nor a compensation, over the new
// owner's saga.
func TestAWorkerWhoseSagaWasClaimedAgainStopsAndWritesNothing(t *testing.T) {
	t.Parallel()
	c := &calls{}
	lease := 300 * time.Millisecond
	pay := &slowPayments{fakePayments: fakePayments{calls: c}, ended: make(chan error, 1)}
	w := newWorldWith(t, &fakeInventory{calls: c}, pay, c, time.Minute, lease)
	id := w.placePending(t)
	deadline := time.Now().Add(10 * time.Second)
	for c.String() != "reserve charge" {
		if time.Now().After(deadline) {
			t.Fatalf("no charge yet: %q", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Another worker claims the saga, as a claim does: a new token.
	ctx := context.Background()
	if _, err := w.db.Pool.Exec(ctx, `UPDATE sagas SET lease_owner = 'another', lease_until = now() + interval '1 hour',
		lease_token = lease_token + 1 WHERE order_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-pay.ended:
		if !errors.Is(cause, app.ErrLeaseLost) {
			t.Fatalf("the charge ended for %v, want app.ErrLeaseLost", cause)
		}
	case <-time.After(10 * lease):
		t.Fatal("the stale worker's charge still runs")
	}
	time.Sleep(lease) // what the stale worker would write, it has written now
	var step, owner string
	var attempts int
	if err := w.db.Pool.QueryRow(ctx, `SELECT step, attempts, lease_owner FROM sagas WHERE order_id = $1`, id).Scan(&step, &attempts, &owner); err != nil {
		t.Fatal(err)
	}
	timeline, err := w.svc.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The stale worker stores its steps when it stops with the saga: it
	// stopped without a word, so the saga is as the new claim found it.
	if step != "reserve" || attempts != 0 || owner != "another" || len(timeline) != 0 {
		t.Fatalf("saga at %s after %d attempts, leased to %s, timeline %+v; want it untouched since the new claim", step, attempts, owner, timeline)
	}
}

// stuckCancel declines every charge and never finishes cancelling one, like
// a worker dying in its compensation.
type stuckCancel struct {
	fakePayments
	cancelling chan struct{}
	release    chan struct{} // closed when the test ends
}

func (f *stuckCancel) Cancel(ctx context.Context, _ uuid.UUID, _ string) error {
	f.calls.add("cancel_payment")
	close(f.cancelling)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.release:
		return errors.New("the worker died")
	}
}

// A saga that turns to compensate is stored at once, before its first
// compensating step: a worker dying in the compensation must not leave it
// at a forward step, which a new claim would run again against its undoing.
func TestASagaIsStoredWhenItTurnsToCompensate(t *testing.T) {
	t.Parallel()
	c := &calls{}
	pay := &stuckCancel{fakePayments: fakePayments{calls: c, chargeErr: paymentsapi.ErrDeclined}, cancelling: make(chan struct{}), release: make(chan struct{})}
	w := newWorldWith(t, &fakeInventory{calls: c}, pay, c, time.Minute, time.Minute)
	t.Cleanup(func() { close(pay.release) }) // before the world stops
	id := w.placePending(t)
	select {
	case <-pay.cancelling:
	case <-time.After(10 * time.Second):
		t.Fatalf("no compensation: %q", c)
	}
	var step, reason string
	if err := w.db.Pool.QueryRow(context.Background(), `SELECT step, reason FROM sagas WHERE order_id = $1`, id).Scan(&step, &reason); err != nil {
		t.Fatal(err)
	}
	if step != "cancel_payment" || reason != "payment declined" {
		t.Fatalf("stored at %s (%q) while compensating; want cancel_payment, payment declined", step, reason)
	}
}
