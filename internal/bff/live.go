package bff

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/httpx"
)

// Events tells the live streams that something happened in the system. It
// is all they need from the event system, so a hub gathering every event
// (the admin's) or the bus's listeners can stand behind it.
type Events interface {
	// Subscribe returns a channel of the events of the given types that
	// happen from now on, and a function that ends the subscription. A slow
	// subscriber may miss events (they are not queued without bound): the
	// streams re-read the state they show, so a missed wake-up costs at
	// most one re-check period.
	Subscribe(types ...string) (<-chan bus.Envelope, func())
}

// LiveTypes are the event types the live streams wake on.
var LiveTypes = []string{orderingapi.OrderConfirmed, orderingapi.OrderCancelled, inventoryapi.StockChanged}

// Hub fans events out to in-process subscribers. It is safe for concurrent use.
type Hub struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	types []string
	ch    chan bus.Envelope
}

// NewHub returns a hub with no subscribers.
func NewHub() *Hub { return &Hub{subs: map[*subscription]struct{}{}} }

// ListenBus returns a hub fed by bus listeners on LiveTypes, which hear
// every such event in every process (with RabbitMQ; with the in-memory bus,
// the events of this process).
func ListenBus(b *bus.Bus) (*Hub, error) {
	h := NewHub()
	for _, t := range LiveTypes {
		err := b.Listen(bus.Listener{
			Name:  "bff.live." + t,
			Topic: t,
			Handle: func(_ context.Context, e bus.Envelope) error {
				h.Publish(e)
				return nil
			},
		})
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Publish hands e to every subscriber of its type that has room for it.
func (h *Hub) Publish(e bus.Envelope) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !slices.Contains(s.types, e.Type) {
			continue
		}
		select {
		case s.ch <- e:
		default: // full: this subscriber re-checks on its own
		}
	}
}

// Subscribe implements Events.
func (h *Hub) Subscribe(types ...string) (<-chan bus.Envelope, func()) {
	s := &subscription{types: types, ch: make(chan bus.Envelope, 16)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
		})
	}
}

// streamMargin ends a stream this long before the request's deadline, so it
// ends cleanly and the browser's EventSource reconnects (after retryMillis)
// instead of seeing an error. Every (re)connection starts with the current
// state, so nothing is lost in between.
const (
	streamMargin = time.Second
	retryMillis  = 500
)

// sse is an open Server-Sent Events answer.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a buffering proxy would hold the events back
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.SetWriteDeadline(time.Time{}) // the server's write timeout is for ordinary answers
	fmt.Fprintf(w, "retry: %d\n\n", retryMillis)
	_ = s.rc.Flush()
	return s
}

// send writes one event; data is JSON on one line.
func (s *sse) send(event, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if id != "" {
		fmt.Fprintf(s.w, "id: %s\n", id)
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// streamContext is ctx ending streamMargin before its deadline.
func streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-streamMargin))
	}
	return context.WithCancel(ctx)
}

// LiveOrder is an event of GET /bff/orders/{id}/live: the order as it stands.
type LiveOrder struct {
	Order orderingapi.Order `json:"order"`
}

// orderLive streams the caller's order: "order" events with the order each
// time it changes (the first at once), then "end" once it is confirmed or
// cancelled, after which the page closes the stream. It wakes on ordering's
// order_confirmed and order_cancelled events and re-reads the order from
// ordering (events only say "look again"; the API is the truth), and also
// re-reads every Recheck in case an event was missed.
func (s *server) orderLive(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	// Subscribe before the first read, so a change between the two is seen.
	events, stop := s.events.Subscribe(orderingapi.OrderConfirmed, orderingapi.OrderCancelled)
	defer stop()
	o, err := s.ownOrder(r.Context(), id)
	if err != nil {
		return err // still a plain answer: nothing was written
	}
	ctx, cancel := streamContext(r.Context())
	defer cancel()
	stream := startSSE(w)
	if err := stream.send("order", "", LiveOrder{Order: o}); err != nil {
		return nil
	}
	recheck := time.NewTicker(s.opts.Recheck)
	defer recheck.Stop()
	for {
		if o.Status != orderingapi.StatusPending {
			_ = stream.send("end", "", map[string]string{"status": o.Status})
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case e := <-events:
			if e.AggregateID != id.String() {
				continue
			}
		case <-recheck.C:
		}
		next, err := s.ownOrder(ctx, id)
		if err != nil {
			continue // a failed re-read waits for the next wake-up
		}
		if next.Status != o.Status || !next.UpdatedAt.Equal(o.UpdatedAt) {
			if err := stream.send("order", "", LiveOrder{Order: next}); err != nil {
				return nil
			}
		}
		o = next
	}
}

// MaxLiveProducts is how many products one stock stream may follow.
const MaxLiveProducts = 100

// LiveStock is an event of GET /bff/stock/live: a product's available units.
type LiveStock struct {
	ProductID uuid.UUID `json:"product_id"`
	Available int64     `json:"available"`
}

// stockLive streams "stock" events for the products in ?ids= whenever
// inventory announces a change. On a reconnection (the browser sends
// Last-Event-ID) it first sends their current stock, which may have changed
// while it was away; a first connection follows a page that just read it.
func (s *server) stockLive(w http.ResponseWriter, r *http.Request) error {
	ids, err := parseIDs(r.URL.Query().Get("ids"))
	if err != nil {
		return err
	}
	events, stop := s.events.Subscribe(inventoryapi.StockChanged)
	defer stop()
	ctx, cancel := streamContext(r.Context())
	defer cancel()
	stream := startSSE(w)
	// An id from the start: the browser then sends Last-Event-ID on every
	// reconnection, even when no stock event came in the meantime.
	fmt.Fprint(w, "id: 0\n\n")
	seq := 0
	next := func() string { seq++; return fmt.Sprint(seq) }
	if r.Header.Get("Last-Event-ID") != "" {
		stock, _ := s.stockOf(ctx, ids)
		for _, id := range ids {
			if a := stock[id]; a != nil {
				if err := stream.send("stock", next(), LiveStock{ProductID: id, Available: *a}); err != nil {
					return nil
				}
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-events:
			var p inventoryapi.StockChangedV1
			if e.DecodePayload(&p) != nil || !slices.Contains(ids, p.ProductID) {
				continue
			}
			if err := stream.send("stock", next(), LiveStock{ProductID: p.ProductID, Available: p.OnHand - p.Reserved}); err != nil {
				return nil
			}
		}
	}
}

func parseIDs(s string) ([]uuid.UUID, error) {
	if s == "" {
		return nil, ErrInvalidStockQuery
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxLiveProducts {
		return nil, ErrInvalidStockQuery
	}
	ids := make([]uuid.UUID, 0, len(parts))
	for _, p := range parts {
		id, err := uuid.Parse(strings.TrimSpace(p))
		if err != nil {
			return nil, ErrInvalidStockQuery
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
