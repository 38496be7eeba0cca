package pg_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
)

// placeOrder stores a pending order and its saga at reserve.
func placeOrder(t *testing.T, orders *pg.Orders) uuid.UUID {
	t.Helper()
	p := domain.Product{ID: uuid.New(), Name: "Tea", Price: 450, Currency: "EUR"}
	o, err := domain.NewOrder(uuid.New(), uuid.New(), orderingapi.PlaceOrderInput{Items: []orderingapi.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orderingapi.PaymentInput{Token: "tok_ok"}}, map[uuid.UUID]domain.Product{p.ID: p}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := app.IdempotencyKey{CustomerID: uuid.New(), Key: uuid.NewString(), Hash: []byte{1}}
	if err := orders.Place(context.Background(), o, key, domain.NewSaga(o.ID(), "tok_ok", time.Now().Add(time.Minute), "")); err != nil {
		t.Fatal(err)
	}
	return o.ID()
}

func claimOne(t *testing.T, sagas *pg.Sagas) app.Claimed {
	t.Helper()
	claimed, err := sagas.Claim(context.Background(), 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v, %v; want one saga", claimed, err)
	}
	return claimed[0]
}

// One process may claim a saga twice: its lease ran out while a step ran,
// and its own runner took the saga again. Each claim has its own fencing
// token, so the stale worker (same process, same owner) can neither
// overwrite the newer worker's step nor renew the lease.
func TestAStaleClaimOfTheSameProcessIsFenced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	orders := pg.NewOrders(openOrdering(t))
	sagas := pg.NewSagas(orders, 200*time.Millisecond)
	id := placeOrder(t, orders)

	stale := claimOne(t, sagas)
	if again, err := sagas.Claim(ctx, 1); err != nil || len(again) != 0 {
		t.Fatalf("a leased saga was claimed again: %v, %v", again, err)
	}
	time.Sleep(300 * time.Millisecond) // the lease runs out
	fresh := claimOne(t, sagas)
	if fresh.Lease.Token == stale.Lease.Token {
		t.Fatalf("two claims share the token %d", fresh.Lease.Token)
	}
	if err := sagas.Update(ctx, fresh.Lease, func(sg *domain.Saga, _ *domain.Order) error { return sg.Succeed() }); err != nil {
		t.Fatal(err)
	}
	err := sagas.Update(ctx, stale.Lease, func(sg *domain.Saga, _ *domain.Order) error { return sg.Fail("payment declined") })
	if !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("the stale worker's compensation: %v, want app.ErrLeaseLost", err)
	}
	if err := sagas.Renew(ctx, stale.Lease); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("the stale worker's renewal: %v, want app.ErrLeaseLost", err)
	}
	if err := sagas.Renew(ctx, fresh.Lease); err != nil {
		t.Fatalf("the new worker's renewal: %v", err)
	}
	sg, err := sagas.Get(ctx, id)
	if err != nil || sg.Step() != domain.StepCharge || sg.Reason() != "" {
		t.Fatalf("saga %+v, %v; want the new worker's step charge", sg, err)
	}
}

// A renewed lease outlives its first period; a lease given up by a retry
// or the saga's end cannot be renewed; a change made without a lease (a
// cancellation) fences out the worker that held the saga.
func TestLeasesRenewedAndGivenUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	orders := pg.NewOrders(openOrdering(t))
	sagas := pg.NewSagas(orders, 300*time.Millisecond)
	id := placeOrder(t, orders)

	held := claimOne(t, sagas)
	for range 4 {
		time.Sleep(100 * time.Millisecond)
		if err := sagas.Renew(ctx, held.Lease); err != nil {
			t.Fatal(err)
		}
	}
	if again, err := sagas.Claim(ctx, 1); err != nil || len(again) != 0 {
		t.Fatalf("a renewed lease was claimed again: %v, %v", again, err)
	}
	retry := func(sg *domain.Saga, _ *domain.Order) error { return sg.Retry(10*time.Millisecond, "down") }
	if err := sagas.Update(ctx, held.Lease, retry); err != nil {
		t.Fatal(err)
	}
	if err := sagas.Renew(ctx, held.Lease); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("renewing a lease given up by a retry: %v, want app.ErrLeaseLost", err)
	}
	time.Sleep(20 * time.Millisecond)
	held = claimOne(t, sagas)
	err := sagas.Update(ctx, app.Unleased(id), func(sg *domain.Saga, _ *domain.Order) error { return sg.Retry(0, "by hand") })
	if err != nil {
		t.Fatal(err)
	}
	if err := sagas.Update(ctx, held.Lease, func(sg *domain.Saga, _ *domain.Order) error { return sg.Succeed() }); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("a worker's write after an unleased change: %v, want app.ErrLeaseLost", err)
	}
}
