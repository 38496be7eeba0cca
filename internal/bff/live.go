package bff

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/httpx"
)

// Events tells the live streams that something happened in the system.
// The process's event hub (*bus.Hub, which sees every event published
// anywhere in the system) is one; a test may give another.
type Events interface {
	// Subscribe delivers the events passing f until ctx ends. A subscriber
	// that falls behind loses events rather than slowing the bus: the
	// streams re-read what they show, so a lost event costs at most one
	// re-check period.
	Subscribe(ctx context.Context, f bus.Filter) (*bus.Watcher, error)
}

// Event types the live streams wake on.
const (
	orderEvents = "ordering.order_" // placed, confirmed, cancelled: every change of an order
	stockEvents = inventoryapi.StockChanged
)

// retryMillis is how long the browser's EventSource waits before it
// reconnects to a stream that ended (MaxStream, a restart). Every
// (re)connection starts with the current state, so nothing is lost.
const retryMillis = 1000

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

// streamContext is the context of a stream: it ends when the client goes
// away, after MaxStream, or when the server begins to shut down (a stream
// must not hold the graceful shutdown). It is free of the request deadline
// ordinary answers get.
func (s *server) streamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx := httpx.StreamContext(r) // from before the routes' middleware: the caller is added back
	if p, ok := auth.FromContext(r.Context()); ok {
		ctx = auth.WithPrincipal(ctx, p)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.MaxStream)
	if s.opts.Stopping != nil {
		go func() {
			select {
			case <-s.opts.Stopping:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// watch subscribes to the events passing f for the stream's life. Without
// the hub (the broker is down) the stream goes on with its re-checks only:
// a nil channel never delivers.
func (s *server) watch(ctx context.Context, f bus.Filter) <-chan bus.Envelope {
	w, err := s.events.Subscribe(ctx, f)
	if err != nil {
		s.log.Warn("live stream without events; it re-checks only", zap.Error(err))
		return nil
	}
	return w.C
}

// LiveOrder is an event of GET /bff/orders/{id}/live: the order as it stands.
type LiveOrder struct {
	Order orderingapi.Order `json:"order"`
}

// orderLive streams the caller's order: "order" events with the order each
// time it changes (the first at once), then "end" once it is confirmed or
// cancelled, after which the page closes the stream. It wakes on ordering's
// events about the order and re-reads it from ordering (an event only says
// "look again"; the API is the truth), and also re-reads every Recheck in
// case an event was lost.
func (s *server) orderLive(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	ctx, cancel := s.streamContext(r)
	defer cancel()
	// Watch before the first read, so a change between the two is seen.
	events := s.watch(ctx, bus.Filter{TypePrefix: orderEvents})
	o, err := s.ownOrder(r.Context(), id)
	if err != nil {
		return err // still a plain answer: nothing was written
	}
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
		case e, ok := <-events:
			if !ok {
				return nil // the hub closed: the process is stopping
			}
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
// inventory announces a change (the event carries the figures: no read is
// needed). On a reconnection (the browser sends Last-Event-ID) it first
// sends their current stock, which may have changed while it was away; a
// first connection follows a page that just read it.
func (s *server) stockLive(w http.ResponseWriter, r *http.Request) error {
	ids, err := parseIDs(r.URL.Query().Get("ids"))
	if err != nil {
		return err
	}
	ctx, cancel := s.streamContext(r)
	defer cancel()
	events := s.watch(ctx, bus.Filter{TypePrefix: stockEvents})
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
		case e, ok := <-events:
			if !ok {
				return nil
			}
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
