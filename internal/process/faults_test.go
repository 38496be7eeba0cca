package process_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/bus/bustest"
	"github.com/modmono/shop/platform/host"
)

// TestCheckoutUnderMessageFaults runs the whole application, every module's
// real consumers, with every message between the outboxes and the handlers
// duplicated, delayed, reordered or redelivered after its ack, on each bus
// with the same assertions. Customers register, place orders (some
// declined, some timing out, some out of stock) and cancel some confirmed
// ones. Then every order has settled, no payment is captured twice, stock is
// conserved, every event made exactly one notification, the read model
// agrees with the orders, and nothing was dead-lettered.
//
// None of these consumers is promised an order of its events (they apply
// them in any order: revisions, event times, one notification per event),
// so the faults may reorder freely and the test asserts convergence.
func TestCheckoutUnderMessageFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application against Postgres and RabbitMQ")
	}
	t.Parallel()
	for _, driver := range bus.Drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			checkoutUnderFaults(t, driver)
		})
	}
}

func checkoutUnderFaults(t *testing.T, driver string) {
	const secret = "faults-test-secret-0123456789abcdefghijklmn"
	key := authtest.NewKey(t)
	env := map[string]string{"APP_JWT_SECRET": secret, "APP_JWT_PRIVATE_KEY": key.PEM, "APP_BUS": driver, "APP_PAYMENT_TIMEOUT": "1s",
		"APP_RATE_LIMIT_ORDERS": "100000", "APP_RATE_LIMIT_LOGIN": "100000", "APP_RATE_LIMIT_REGISTER": "100000"}
	if driver == "amqp" {
		env["AMQP_URL"] = amqptest.NewVHost(t)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("fault seed %d", seed)
	var faulty *bustest.Transport
	inject := fx.Decorate(func(inner bus.Transport) bus.Transport {
		faulty = bustest.Inject(inner, bustest.Faults{Seed: seed, Duplicate: 0.2, Delay: 0.2, Reorder: 0.2,
			Redeliver: 0.2, MaxDelay: 100 * time.Millisecond})
		return faulty
	})
	var h *host.HTTP
	var b *bus.Bus
	apptest.StartWith(t, env, inject, &h, &b)
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)
	admin := shopClient{t: t, base: srv.URL, token: key.Token(t, auth.Admin)}

	const initial = 30
	var product struct{ ID string }
	admin.call("POST", "/api/v1/products", `{"name":"Tea","price":450,"currency":"EUR"}`, http.StatusCreated, &product)
	admin.call("PUT", "/api/v1/inventory/"+product.ID, fmt.Sprintf(`{"on_hand":%d}`, initial), http.StatusOK, nil)

	customers := make([]shopClient, 4)
	for i := range customers {
		customers[i] = admin.register(fmt.Sprintf("faults-%d-%s@example.com", i, uuid.NewString()[:8]))
	}
	tokensByOrder := []string{"tok_ok", "tok_ok", "tok_ok", "tok_decline", "tok_slow"}
	orders := make([][]string, len(customers)) // by customer
	var wg sync.WaitGroup
	for c := range customers {
		wg.Go(func() {
			for i := range 10 {
				var placed struct{ ID string }
				body := fmt.Sprintf(`{"items":[{"product_id":%q,"quantity":%d}],"payment":{"token":%q}}`,
					product.ID, 1+i%2, tokensByOrder[(c+i)%len(tokensByOrder)])
				customers[c].call("POST", "/api/v1/orders", body, http.StatusAccepted, &placed, "Idempotency-Key", uuid.NewString())
				orders[c] = append(orders[c], placed.ID)
			}
		})
	}
	wg.Wait()

	// Every order settles; every third confirmed one is cancelled again
	// (refund and restock).
	type outcome struct {
		status   string
		units    int64
		refunded bool
	}
	outcomes := map[string]outcome{}
	confirmedSeen := 0
	for c, ids := range orders {
		for _, id := range ids {
			o := customers[c].settled(id)
			out := outcome{status: o.Status}
			if o.Status == "confirmed" {
				confirmedSeen++
				if confirmedSeen%3 == 0 {
					customers[c].call("POST", "/api/v1/orders/"+id+"/cancel", "", anySuccess, nil)
					out = outcome{status: "cancelled", refunded: true}
					eventually(t, "order "+id+" cancelled", func() bool { return customers[c].order(id).Status == "cancelled" })
				} else {
					for _, l := range o.Items {
						out.units += l.Quantity
					}
				}
			}
			outcomes[id] = out
		}
	}

	var units int64
	for c, ids := range orders {
		for _, id := range ids {
			out := outcomes[id]
			units += out.units
			var payments struct {
				Items []struct {
					Status string
					Events []struct{ Type string }
				}
			}
			customers[c].call("GET", "/api/v1/payments?order_id="+id, "", http.StatusOK, &payments)
			captures := 0
			for _, p := range payments.Items {
				for _, e := range p.Events {
					if e.Type == "payment.captured" {
						captures++
					}
				}
			}
			if len(payments.Items) > 1 || captures > 1 || (out.status == "confirmed" && captures != 1) ||
				(out.refunded && (captures != 1 || payments.Items[0].Status != "refunded")) {
				t.Errorf("order %s (%+v): payments %+v", id, out, payments.Items)
			}
		}
	}
	var stock struct {
		OnHand   int64 `json:"on_hand"`
		Reserved int64 `json:"reserved"`
	}
	admin.call("GET", "/api/v1/inventory/"+product.ID, "", http.StatusOK, &stock)
	if stock.Reserved != 0 || stock.OnHand+units != initial {
		t.Errorf("stock not conserved: %+v, %d units confirmed, %d initially", stock, units, initial)
	}

	// One notification per event, and the read model converged.
	for c, ids := range orders {
		want := map[string]int{"welcome": 1}
		status := map[string]string{}
		for _, id := range ids {
			out := outcomes[id]
			status[id] = out.status
			want["order_"+out.status]++
			if out.refunded {
				want["order_confirmed"]++
				want["payment_refunded"]++
			}
		}
		eventually(t, fmt.Sprintf("customer %d's notifications to be %v", c, want), func() bool {
			return fmt.Sprint(customers[c].notificationKinds()) == fmt.Sprint(want)
		})
		eventually(t, fmt.Sprintf("customer %d's order list to show %v", c, status), func() bool {
			return fmt.Sprint(customers[c].listedStatuses()) == fmt.Sprint(status)
		})
	}

	if dl, err := b.DeadLetters(context.Background(), 10); err != nil || len(dl) != 0 {
		t.Errorf("dead letters %+v (%v)", dl, err)
	}
	counts := faulty.Counts()
	t.Logf("%d orders, %d units confirmed; faults %+v", len(outcomes), units, counts)
	if counts.Duplicated == 0 || counts.Delayed == 0 || counts.Reordered == 0 || counts.Redelivered == 0 {
		t.Errorf("a fault never struck, the test proved little: %+v", counts)
	}
}

// shopClient calls the application's public API as one caller.
type shopClient struct {
	t     *testing.T
	base  string
	token string
}

// anySuccess is a want of call that takes any 2xx.
const anySuccess = 0

// call sends body (JSON, none when empty) and decodes the answer into out
// (when not nil), failing the test unless the status is want.
func (c shopClient) call(method, path, body string, want int, out any, headers ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want && (want != anySuccess || resp.StatusCode/100 != 2) {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// register signs a customer up and logs in: identity publishes the
// registration, which notifications and ordering consume.
func (c shopClient) register(email string) shopClient {
	c.t.Helper()
	anon := shopClient{t: c.t, base: c.base}
	const password = "correct horse battery"
	anon.call("POST", "/api/v1/auth/register", fmt.Sprintf(`{"email":%q,"password":%q,"name":%q}`, email, password, customerName), http.StatusCreated, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	anon.call("POST", "/api/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), http.StatusOK, &tok)
	return shopClient{t: c.t, base: c.base, token: tok.AccessToken}
}

const customerName = "Faulty Customer"

type placedOrder struct {
	Status string
	Items  []struct{ Quantity int64 }
}

func (c shopClient) order(id string) placedOrder {
	c.t.Helper()
	var o placedOrder
	c.call("GET", "/api/v1/orders/"+id, "", http.StatusOK, &o)
	return o
}

// settled waits until the order is confirmed or cancelled.
func (c shopClient) settled(id string) placedOrder {
	c.t.Helper()
	var o placedOrder
	eventually(c.t, "order "+id+" to settle", func() bool { o = c.order(id); return o.Status != "pending" })
	return o
}

// notificationKinds counts the caller's notifications by kind.
func (c shopClient) notificationKinds() map[string]int {
	c.t.Helper()
	var list struct{ Items []struct{ Kind string } }
	c.call("GET", "/api/v1/notifications?limit=200", "", http.StatusOK, &list)
	kinds := map[string]int{}
	for _, n := range list.Items {
		kinds[n.Kind]++
	}
	return kinds
}

// listedStatuses is the caller's orders as the read model lists them, an
// order without its customer's name (ordering's replica of identity's
// users) as "unnamed".
func (c shopClient) listedStatuses() map[string]string {
	c.t.Helper()
	var list struct {
		Items []struct {
			ID, Status string
			Customer   struct{ Name string }
		}
	}
	c.call("GET", "/api/v1/orders?limit=200", "", http.StatusOK, &list)
	out := map[string]string{}
	for _, o := range list.Items {
		out[o.ID] = o.Status
		if o.Customer.Name != customerName {
			out[o.ID] = "unnamed"
		}
	}
	return out
}

// eventually polls cond until it holds; it waits for an outcome, never
// judges speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
