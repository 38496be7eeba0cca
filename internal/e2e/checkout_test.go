package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// checkoutScenarios checks the checkout saga's outcomes: each ends in the
// state SPEC §6 says, with stock and payments consistent.
func checkoutScenarios(t *testing.T, app *process) {
	admin := app.admin(t)

	t.Run("happy path", func(t *testing.T) {
		tea := stocked(t, admin, 450, 5)
		c := app.newCustomer(t)
		id := place(t, c.client, "tok_ok", tea, 2)
		o := settled(t, c.client, id)
		if o.Status != "confirmed" || o.Total != 900 || o.Currency != "EUR" || o.FailureReason != nil {
			t.Fatalf("order %+v", o)
		}
		if s := stockOf(t, app, tea); s != (stock{OnHand: 3, Available: 3}) {
			t.Fatalf("stock %+v", s)
		}
		ps := paymentsOf(t, c.client, id)
		if len(ps) != 1 || ps[0].Status != "captured" || ps[0].Amount != 900 || len(ps[0].Events) < 2 {
			t.Fatalf("payments %+v", ps)
		}
		eventually(t, "the read model and the notification", func() bool {
			var list struct {
				Items []struct {
					ID       string
					Status   string
					Customer *struct{ Email string }
				}
			}
			c.client.do("GET", "/api/v1/orders", nil).json(t, &list)
			var notes struct{ Items []struct{ Kind string } }
			c.client.do("GET", "/api/v1/notifications", nil).json(t, &notes)
			kinds := fmt.Sprint(notes.Items)
			return len(list.Items) == 1 && list.Items[0].ID == id && list.Items[0].Status == "confirmed" &&
				list.Items[0].Customer != nil && list.Items[0].Customer.Email == c.email &&
				strings.Contains(kinds, "order_confirmed") && strings.Contains(kinds, "welcome")
		})
	})

	t.Run("declined payment", func(t *testing.T) {
		tea := stocked(t, admin, 450, 5)
		c := app.newCustomer(t)
		o := settled(t, c.client, place(t, c.client, "tok_decline", tea, 2))
		if o.Status != "cancelled" || o.FailureReason == nil || !strings.Contains(*o.FailureReason, "declined") {
			t.Fatalf("order %+v", o)
		}
		if s := stockOf(t, app, tea); s != (stock{OnHand: 5, Available: 5}) {
			t.Fatalf("stock not released: %+v", s)
		}
		if ps := paymentsOf(t, c.client, o.ID); len(ps) != 1 || ps[0].Status != "failed" {
			t.Fatalf("payments %+v", ps)
		}
	})

	t.Run("payment timeout", func(t *testing.T) {
		tea := stocked(t, admin, 450, 5)
		c := app.newCustomer(t)
		o := settled(t, c.client, place(t, c.client, "tok_slow", tea, 1))
		if o.Status != "cancelled" || o.FailureReason == nil || !strings.Contains(*o.FailureReason, "timed out") {
			t.Fatalf("order %+v", o)
		}
		if s := stockOf(t, app, tea); s != (stock{OnHand: 5, Available: 5}) {
			t.Fatalf("stock not released: %+v", s)
		}
		for _, p := range paymentsOf(t, c.client, o.ID) {
			if p.Status == "captured" {
				t.Fatalf("a timed-out payment was captured: %+v", p)
			}
		}
	})

	t.Run("cancel a confirmed order", func(t *testing.T) {
		tea := stocked(t, admin, 450, 5)
		c := app.newCustomer(t)
		id := place(t, c.client, "tok_ok", tea, 2)
		if o := settled(t, c.client, id); o.Status != "confirmed" {
			t.Fatalf("order %+v", o)
		}
		r := c.client.do("POST", "/api/v1/orders/"+id+"/cancel", nil)
		if r.status != http.StatusOK && r.status != http.StatusAccepted {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		eventually(t, "the cancellation", func() bool {
			var o order
			c.client.do("GET", "/api/v1/orders/"+id, nil).json(t, &o)
			return o.Status == "cancelled"
		})
		if s := stockOf(t, app, tea); s != (stock{OnHand: 5, Available: 5}) {
			t.Fatalf("stock not returned: %+v", s)
		}
		if ps := paymentsOf(t, c.client, id); len(ps) != 1 || ps[0].Status != "refunded" {
			t.Fatalf("payments %+v", ps)
		}
		if r := c.client.do("POST", "/api/v1/orders/"+id+"/cancel", nil); r.status != http.StatusOK {
			t.Fatalf("cancelling again: %d %s", r.status, r.body)
		}
	})

	t.Run("not enough stock", func(t *testing.T) {
		tea := stocked(t, admin, 450, 1)
		c := app.newCustomer(t)
		o := settled(t, c.client, place(t, c.client, "tok_ok", tea, 2))
		if o.Status != "cancelled" || o.FailureReason == nil || !strings.Contains(*o.FailureReason, "stock") {
			t.Fatalf("order %+v", o)
		}
		if s := stockOf(t, app, tea); s != (stock{OnHand: 1, Available: 1}) {
			t.Fatalf("stock %+v", s)
		}
	})
}

// orderPlacementRules checks idempotency keys and the refusals of SPEC §4.
func orderPlacementRules(t *testing.T, app *process) {
	admin := app.admin(t)
	tea := stocked(t, admin, 450, 50)
	c := app.newCustomer(t)

	key := uuid.NewString()
	first := c.client.do("POST", "/api/v1/orders", orderBody("tok_ok", tea, 1), "Idempotency-Key", key)
	again := c.client.do("POST", "/api/v1/orders", orderBody("tok_ok", tea, 1), "Idempotency-Key", key)
	if first.status != 202 || again.status != 202 || string(first.body)[:44] != string(again.body)[:44] {
		t.Fatalf("same key and body: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
	if r := c.client.do("POST", "/api/v1/orders", orderBody("tok_ok", tea, 2), "Idempotency-Key", key); r.status != 422 ||
		!strings.Contains(string(r.body), "ordering.idempotency_key_reused") {
		t.Fatalf("same key, other body: %d %s", r.status, r.body)
	}
	// The key is the customer's own: another customer may use the same one.
	other := app.newCustomer(t)
	if r := other.client.do("POST", "/api/v1/orders", orderBody("tok_ok", tea, 2), "Idempotency-Key", key); r.status != 202 {
		t.Fatalf("another customer's key: %d %s", r.status, r.body)
	}
	if r := c.client.do("POST", "/api/v1/orders", orderBody("tok_ok", tea, 1)); r.status != 400 ||
		!strings.Contains(string(r.body), "ordering.idempotency_key_missing") {
		t.Fatalf("no key: %d %s", r.status, r.body)
	}
	unknown := product{ID: uuid.NewString()}
	if r := c.client.do("POST", "/api/v1/orders", orderBody("tok_ok", unknown, 1), "Idempotency-Key", uuid.NewString()); r.status != 422 ||
		!strings.Contains(string(r.body), "ordering.unknown_product") {
		t.Fatalf("unknown product: %d %s", r.status, r.body)
	}
	// Concurrent requests with one key make one order.
	key = uuid.NewString()
	ids, answers := make([]string, 8), make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r := c.client.do("POST", "/api/v1/orders", orderBody("tok_ok", tea, 3), "Idempotency-Key", key)
			answers[i] = fmt.Sprintf("%d %s", r.status, r.body)
			if r.status == 202 {
				var p struct{ ID string }
				r.json(t, &p)
				ids[i] = p.ID
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("one key made several orders: %v\n%s", ids, strings.Join(answers, "\n"))
		}
	}
}

// noOversell: 10 in stock, 40 concurrent orders of 1 unit from several
// customers: exactly 10 are confirmed, 30 cancelled, no unit left reserved.
func noOversell(t *testing.T, app *process) {
	tea := stocked(t, app.admin(t), 450, 10)
	customers := make([]customer, 4)
	for i := range customers {
		customers[i] = app.newCustomer(t)
	}
	ids := make([]string, 40)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { ids[i] = place(t, customers[i%4].client, "tok_ok", tea, 1) })
	}
	wg.Wait()
	confirmed, cancelled := 0, 0
	for i, id := range ids {
		switch settled(t, customers[i%4].client, id).Status {
		case "confirmed":
			confirmed++
		case "cancelled":
			cancelled++
		}
	}
	if confirmed != 10 || cancelled != 30 {
		t.Fatalf("%d confirmed, %d cancelled", confirmed, cancelled)
	}
	if s := stockOf(t, app, tea); s != (stock{}) {
		t.Fatalf("stock %+v", s)
	}
}
