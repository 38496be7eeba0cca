package pg_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/pgtest"
)

// Of requests racing with one idempotency key, one places its order; the
// others get ErrKeyTaken and leave nothing behind: no order, saga or event.
func TestPlaceRacingForOneKeyPlacesOneOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openOrdering(t)
	orders := pg.NewOrders(db, time.Minute)
	p := domain.Product{ID: uuid.New(), Name: "Tea", Price: 450, Currency: "EUR"}
	key := app.IdempotencyKey{CustomerID: uuid.New(), Key: "k", Hash: []byte{1}}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			o, err := domain.NewOrder(uuid.New(), key.CustomerID, orderingapi.PlaceOrderInput{Items: []orderingapi.LineInput{{ProductID: p.ID, Quantity: 1}},
				Payment: orderingapi.PaymentInput{Token: "tok_ok"}}, map[uuid.UUID]domain.Product{p.ID: p}, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			_, errs[i] = orders.Place(ctx, o, key, domain.NewSaga(o.ID(), "tok_ok", time.Now().Add(time.Minute), ""), i%2 == 0)
		})
	}
	wg.Wait()
	placed := 0
	for _, err := range errs {
		switch {
		case err == nil:
			placed++
		case !errors.Is(err, app.ErrKeyTaken):
			t.Fatalf("err = %v, want app.ErrKeyTaken", err)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM sagas) + (SELECT count(*) FROM outbox)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if placed != 1 || n != 3 {
		t.Fatalf("%d placed, %d rows of orders, sagas and outbox; want 1 and 3", placed, n)
	}
}

// A checkout costs ordering three round trips: the order's placement (its
// commit included), the worker's load of the order, and the saga's end
// (its fences raised in SQL, so its commit travels with it).
func TestACheckoutsRoundTripsInOrdering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, trips := pgtest.Counting(t, openOrdering(t))
	orders := pg.NewOrders(db, time.Minute)
	sagas := pg.NewSagas(orders)
	placeOrder(t, orders) // every statement prepared on the one connection
	want := func(what string, n int) {
		t.Helper()
		if got, _, sent := trips.Count(); got != n {
			t.Fatalf("%s took %d round trips, want %d: %q", what, got, n, sent)
		}
		trips.Reset()
	}
	for range 2 {
		trips.Reset()
		placeOrder(t, orders)
		want("placing an order", 1)
		c := claimOne(t, sagas)
		trips.Reset()
		o, err := orders.Get(ctx, c.Saga.OrderID())
		if err != nil {
			t.Fatal(err)
		}
		want("loading it", 1)
		for range 2 {
			if err := c.Saga.Succeed(time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Saga.Finish(o, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := sagas.Record(ctx, c.Lease, c.Saga, o); err != nil {
			t.Fatal(err)
		}
		want("ending its saga", 1)
	}
}
