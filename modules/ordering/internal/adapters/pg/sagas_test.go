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
	if _, err := orders.Place(context.Background(), o, key, domain.NewSaga(o.ID(), "tok_ok", time.Now().Add(time.Minute), ""), false); err != nil {
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
	orders := pg.NewOrders(openOrdering(t), 200*time.Millisecond)
	sagas := pg.NewSagas(orders)
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
	if err := sagas.Update(ctx, fresh.Lease, func(sg *domain.Saga, _ *domain.Order) error { return sg.Succeed(time.Now()) }); err != nil {
		t.Fatal(err)
	}
	err := sagas.Update(ctx, stale.Lease, func(sg *domain.Saga, _ *domain.Order) error { return sg.Fail("payment declined", time.Now()) })
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
	orders := pg.NewOrders(openOrdering(t), 300*time.Millisecond)
	sagas := pg.NewSagas(orders)
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
	retry := func(sg *domain.Saga, _ *domain.Order) error { return sg.Retry(10*time.Millisecond, "down", time.Now()) }
	if err := sagas.Update(ctx, held.Lease, retry); err != nil {
		t.Fatal(err)
	}
	if err := sagas.Renew(ctx, held.Lease); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("renewing a lease given up by a retry: %v, want app.ErrLeaseLost", err)
	}
	time.Sleep(20 * time.Millisecond)
	held = claimOne(t, sagas)
	err := sagas.Update(ctx, app.Unleased(id), func(sg *domain.Saga, _ *domain.Order) error { return sg.Retry(0, "by hand", time.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	if err := sagas.Update(ctx, held.Lease, func(sg *domain.Saga, _ *domain.Order) error { return sg.Succeed(time.Now()) }); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("a worker's write after an unleased change: %v, want app.ErrLeaseLost", err)
	}
}

// A worker records its steps without reading the saga first, trusting its
// copy because the write is fenced: a stale worker's record of the saga's
// end changes neither the saga, nor the order, nor the outbox, and the
// current worker's record ends both at once and lets the saga go.
func TestRecordIsFenced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openOrdering(t)
	orders := pg.NewOrders(db, 200*time.Millisecond)
	sagas := pg.NewSagas(orders)
	id := placeOrder(t, orders)
	order, err := orders.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// finish records the end of a saga at confirm as the worker holding c does.
	finish := func(c app.Claimed) error {
		o := domain.Rehydrate(order.Snapshot(), order.Revision())
		if _, err := c.Saga.Finish(o, time.Now()); err != nil {
			t.Fatal(err)
		}
		return sagas.Record(ctx, c.Lease, c.Saga, o)
	}

	stale := claimOne(t, sagas)
	for _, step := range []domain.Step{domain.StepCharge, domain.StepConfirm} {
		if err := stale.Saga.Succeed(time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := sagas.Record(ctx, stale.Lease, stale.Saga, nil); err != nil {
			t.Fatal(err)
		}
		stale.Saga = domain.RehydrateSaga(stale.Saga.Record())
		if sg, err := sagas.Get(ctx, id); err != nil || sg.Step() != step {
			t.Fatalf("saga %+v, %v; want at %s", sg, err, step)
		}
	}
	time.Sleep(300 * time.Millisecond) // the lease runs out
	fresh := claimOne(t, sagas)
	if err := finish(stale); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("the stale worker's record: %v, want app.ErrLeaseLost", err)
	}
	confirmed := func() (n int) {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = $1`, orderingapi.OrderConfirmed).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if o, err := orders.Get(ctx, id); err != nil || o.Status() != orderingapi.StatusPending || confirmed() != 0 {
		t.Fatalf("after a stale record: order %v, %v, %d events", o.Snapshot(), err, confirmed())
	}
	if err := finish(fresh); err != nil {
		t.Fatal(err)
	}
	if o, err := orders.Get(ctx, id); err != nil || o.Status() != orderingapi.StatusConfirmed || confirmed() != 1 {
		t.Fatalf("after the record: order %v, %v, %d events", o.Snapshot(), err, confirmed())
	}
	if err := sagas.Renew(ctx, fresh.Lease); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("renewing the lease of an ended saga: %v, want app.ErrLeaseLost", err)
	}
	steps, err := sagas.Timeline(ctx, id)
	if err != nil || len(steps) != 3 {
		t.Fatalf("timeline %+v, %v; want reserve, charge, confirm", steps, err)
	}
}

// The order's revision is a second fence, raised inside the record's one
// round trip: an order changed since its worker loaded it refuses the whole
// record, the saga's own update sent before it included.
func TestRecordIsFencedByTheOrdersRevision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openOrdering(t)
	orders := pg.NewOrders(db, time.Minute)
	sagas := pg.NewSagas(orders)
	id := placeOrder(t, orders)
	order, err := orders.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c := claimOne(t, sagas)
	for range 2 {
		if err := c.Saga.Succeed(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Saga.Finish(order, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE orders SET revision = revision + 1 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := sagas.Record(ctx, c.Lease, c.Saga, order); !errors.Is(err, app.ErrLeaseLost) {
		t.Fatalf("recording over a changed order: %v, want app.ErrLeaseLost", err)
	}
	if sg, err := sagas.Get(ctx, id); err != nil || sg.Step() != domain.StepReserve {
		t.Fatalf("saga %+v, %v; want it still at %s", sg, err, domain.StepReserve)
	}
	var logged int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM saga_log WHERE order_id = $1`, id).Scan(&logged); err != nil || logged != 0 {
		t.Fatalf("%d timeline entries, %v; want none", logged, err)
	}
}
