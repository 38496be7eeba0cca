package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
)

func newOrderAndSaga(t *testing.T) (*domain.Order, *domain.Saga) {
	t.Helper()
	o, err := domain.NewOrder(uuid.New(), uuid.New(), input("tok_ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}), known, now)
	if err != nil {
		t.Fatal(err)
	}
	return o, domain.NewSaga(o.ID(), "tok_ok", now.Add(2*time.Minute), "")
}

func outcomes(sg *domain.Saga) []string {
	var out []string
	for _, e := range sg.Entries() {
		out = append(out, string(e.Step)+": "+e.Outcome)
	}
	return out
}

func wantEntries(t *testing.T, sg *domain.Saga, want ...string) {
	t.Helper()
	got := outcomes(sg)
	if len(got) != len(want) {
		t.Fatalf("timeline %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("timeline %q, want %q", got, want)
		}
	}
}

func TestSagaCheckoutConfirms(t *testing.T) {
	t.Parallel()
	o, sg := newOrderAndSaga(t)
	for range 2 {
		if err := sg.Succeed(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := sg.Succeed(time.Now()); !errors.Is(err, domain.ErrSagaTransition) {
		t.Fatalf("confirm succeeded without finishing: %v", err)
	}
	outcome, err := sg.Finish(o, now)
	if err != nil || outcome != domain.OutcomeConfirmed || !sg.Done() || o.Status() != orderingapi.StatusConfirmed || sg.PaymentToken() != "" {
		t.Fatalf("finish: %v %s done=%v order %s token %q", err, outcome, sg.Done(), o.Status(), sg.PaymentToken())
	}
	wantEntries(t, sg, "reserve: done, next charge", "charge: done, next confirm", "confirm: done, order confirmed")
	changes := o.Changes()
	if len(changes) != 2 || changes[1].EventType() != orderingapi.OrderConfirmed || changes[1].State().Revision != 2 {
		t.Fatalf("order changes %+v, want placed then confirmed", changes)
	}
	for _, change := range []func() error{func() error { return sg.Succeed(time.Now()) }, func() error { return sg.Retry(time.Second, "", time.Now()) }, func() error { return sg.Fail("late", time.Now()) }} {
		if err := change(); !errors.Is(err, domain.ErrSagaTransition) {
			t.Fatalf("a finished saga changed: %v", err)
		}
	}
}

func TestSagaCompensatesForAReason(t *testing.T) {
	t.Parallel()
	o, sg := newOrderAndSaga(t)
	if err := sg.Succeed(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := sg.Retry(time.Second, "payments down", time.Now()); err != nil || sg.Attempts() != 1 || sg.RetryIn() != time.Second {
		t.Fatalf("retry: %v, %d attempts, in %s", err, sg.Attempts(), sg.RetryIn())
	}
	if err := sg.Fail("", time.Now()); !errors.Is(err, domain.ErrSagaTransition) {
		t.Fatalf("failed without a reason: %v", err)
	}
	if err := sg.Fail("payment declined", time.Now()); err != nil || sg.Step() != domain.StepCancelPayment || !sg.Compensating() || sg.Attempts() != 0 {
		t.Fatalf("fail: %v at %s, compensating %v", err, sg.Step(), sg.Compensating())
	}
	if err := sg.Fail("again", time.Now()); !errors.Is(err, domain.ErrSagaTransition) {
		t.Fatalf("a compensation failed for good: %v", err)
	}
	for sg.Step() != domain.StepCancel {
		if err := sg.Succeed(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	outcome, err := sg.Finish(o, now)
	if err != nil || outcome != domain.OutcomeCancelled || o.Snapshot().FailureReason == nil || *o.Snapshot().FailureReason != "payment declined" {
		t.Fatalf("finish: %v %s %+v", err, outcome, o.Snapshot())
	}
	wantEntries(t, sg, "reserve: done, next charge", "charge: retry", "charge: failed, compensating with cancel_payment",
		"cancel_payment: done, next release", "release: done, next cancel", "cancel: done, order cancelled")
	if e := sg.Entries()[1]; !e.Retry || e.Detail != "payments down" {
		t.Fatalf("retry entry %+v", e)
	}
}

func TestSagaCancelsAConfirmedOrder(t *testing.T) {
	t.Parallel()
	o, sg := newOrderAndSaga(t)
	if err := sg.StartCancellation(o, "cancelled by the customer", "", now); !errors.Is(err, orderingapi.ErrNotCancellable) {
		t.Fatalf("a pending order's cancellation: %v", err)
	}
	_ = sg.Succeed(time.Now())
	_ = sg.Succeed(time.Now())
	if _, err := sg.Finish(o, now); err != nil {
		t.Fatal(err)
	}
	if err := sg.StartCancellation(o, "cancelled by the customer", "tp", now); err != nil || sg.Step() != domain.StepRefund || sg.Traceparent() != "tp" {
		t.Fatalf("start: %v at %s", err, sg.Step())
	}
	if err := sg.StartCancellation(o, "again", "", now); err != nil || sg.Step() != domain.StepRefund || sg.Reason() != "cancelled by the customer" {
		t.Fatalf("a second request changed the running cancellation: %v at %s for %q", err, sg.Step(), sg.Reason())
	}
	_ = sg.Succeed(time.Now())
	_ = sg.Succeed(time.Now())
	outcome, err := sg.Finish(o, now)
	if err != nil || outcome != domain.OutcomeCancelledConfirmed || o.Status() != orderingapi.StatusCancelled {
		t.Fatalf("finish: %v %s %s", err, outcome, o.Status())
	}
	last := o.Changes()[len(o.Changes())-1].(orderingapi.OrderCancelledV1)
	if !last.WasConfirmed || last.FailureReason != "cancelled by the customer" {
		t.Fatalf("cancelled event %+v", last)
	}
}

func TestSagaRefusesAnotherOrder(t *testing.T) {
	t.Parallel()
	_, sg := newOrderAndSaga(t)
	other, _ := newOrderAndSaga(t)
	_ = sg.Succeed(time.Now())
	_ = sg.Succeed(time.Now())
	if _, err := sg.Finish(other, now); !errors.Is(err, domain.ErrSagaTransition) || other.Status() != orderingapi.StatusPending {
		t.Fatalf("finished with another order: %v, that order %s", err, other.Status())
	}
}
