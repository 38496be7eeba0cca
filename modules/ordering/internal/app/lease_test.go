package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

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
