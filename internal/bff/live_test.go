package bff_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/modmono/shop/internal/bff"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/bus"
)

type changingOrder struct {
	orderingapi.API
	status atomic.Value // string
	order  orderingapi.Order
}

func (c *changingOrder) GetOrder(context.Context, uuid.UUID) (orderingapi.Order, error) {
	o := c.order
	o.Status = c.status.Load().(string)
	o.UpdatedAt = time.Now()
	return o, nil
}

// An order_confirmed event wakes the stream at once, long before its
// re-check would; the stream then ends.
func TestOrderStreamWakesOnTheEvent(t *testing.T) {
	t.Parallel()
	orders := &changingOrder{order: orderingapi.Order{ID: uuid.New(), CustomerID: alice.UserID}}
	orders.status.Store(orderingapi.StatusPending)
	tr, hub := newHub(t)
	tk := tokens(t)
	h := bff.Handler(bff.APIs{Ordering: orders}, tk.Verifier(), hub, bff.Options{Recheck: time.Hour, MaxStream: 20 * time.Second}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	req := signedIn(t, tk, httptest.NewRequestWithContext(t.Context(), "GET", srv.URL+"/orders/"+orders.order.ID.String()+"/live", nil), alice)
	req.RequestURI = ""
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "data: ") {
				return l
			}
		}
		return ""
	}
	if first := next(); !strings.Contains(first, `"status":"pending"`) {
		t.Fatalf("first event %q", first)
	}
	orders.status.Store(orderingapi.StatusConfirmed)
	start := time.Now()
	publish(t, tr, bus.Envelope{Type: orderingapi.OrderConfirmed, AggregateID: uuid.NewString()}) // another order: no wake-up needed
	publish(t, tr, bus.Envelope{Type: orderingapi.OrderConfirmed, AggregateID: orders.order.ID.String()})
	if got := next(); !strings.Contains(got, `"status":"confirmed"`) {
		t.Fatalf("after the event: %q", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the stream took %v to wake", d)
	}
	if end := next(); end != `data: {"status":"confirmed"}` {
		t.Errorf("end event %q", end)
	}
}

// The stock stream passes on inventory's stock events for the products it
// follows, and ignores others.
func TestStockStreamFollowsItsProducts(t *testing.T) {
	t.Parallel()
	tr, hub := newHub(t)
	h := bff.Handler(bff.APIs{}, tokens(t).Verifier(), hub, bff.Options{MaxStream: 20 * time.Second}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/stock/live?ids=" + tea.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if a := do(t, h, get("/stock/live?ids=nope")); a.status != 400 || a.body["code"] != "bff.invalid_stock_query" {
		t.Errorf("bad ids: %d %v", a.status, a.body)
	}
	// Publish until the stream has subscribed (it does so as it starts).
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-stopped }() // done publishing before the transport closes
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				for _, e := range []inventoryapi.StockChangedV1{{ProductID: mug.ID, OnHand: 1}, {ProductID: tea.ID, OnHand: 9, Reserved: 2}} {
					env, err := bus.NewEnvelope(context.Background(), e, time.Now())
					if err != nil {
						panic(err)
					}
					publish(t, tr, env)
				}
			}
		}
	}()
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "data: ") {
			if l != `data: {"product_id":"`+tea.ID.String()+`","available":7}` {
				t.Errorf("stock event %q", l)
			}
			return
		}
	}
	t.Fatal("the stream ended without an event")
}

// newHub is the process's event hub over the in-memory transport.
func newHub(t *testing.T) (bus.Transport, *bus.Hub) {
	t.Helper()
	tr := bus.NewGoChannel(watermill.NopLogger{})
	hub := bus.NewHub(tr, []string{orderingapi.OrderConfirmed, inventoryapi.StockChanged}, bus.HubOptions{}, nil)
	t.Cleanup(func() { _ = hub.Close(); _ = tr.Close() })
	return tr, hub
}

// publish sends e as a relay would, on partition 0 of its type.
func publish(t *testing.T, tr bus.Transport, e bus.Envelope) {
	if e.ID == uuid.Nil {
		e.ID = uuid.New()
	}
	if e.Version == 0 {
		e.Version, e.OccurredAt, e.Payload = 1, time.Now(), json.RawMessage(`{}`)
	}
	body, err := json.Marshal(e)
	if err != nil {
		t.Error(err)
		return
	}
	if err := tr.Publish(bus.WireTopic(e.Type, 0), message.NewMessage(e.ID.String(), body)); err != nil {
		t.Error(err)
	}
}
