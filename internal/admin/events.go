package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/httpx"
)

func (s *Service) handle(h httpx.HandlerFunc) http.HandlerFunc { return httpx.Handle(s.log, h) }

// Errors of the event stream.
var (
	// ErrInvalidFilter means a filter of the event stream (type, correlation_id or aggregate_id) is
	// too long or not valid text. Send shorter values, or none to see every event.
	ErrInvalidFilter = apperr.New(apperr.KindInvalid, "admin.invalid_filter",
		"type, correlation_id and aggregate_id must be at most 200 characters of valid text")
	// ErrEventsUnavailable means this process cannot watch the event bus right now, usually
	// because RabbitMQ is unreachable. Events are not lost: the outboxes keep them. Retry once the
	// broker is back (the process's /health/ready names it).
	ErrEventsUnavailable = apperr.New(apperr.KindUnavailable, "admin.events_unavailable",
		"the event stream cannot be opened: the broker is unreachable; retry later")
)

// streamWriteTimeout bounds one write to an event-stream client: a client
// that takes no bytes for this long is cut off (until then it loses events,
// and is told so).
const streamWriteTimeout = 30 * time.Second

// StreamEnvelope is the data of one event on the stream: the envelope with
// every field SPEC §5 names present, empty or not.
type StreamEnvelope struct {
	ID            uuid.UUID       `json:"id"`
	Type          string          `json:"type"`
	Version       int             `json:"version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id"`
	Traceparent   string          `json:"traceparent,omitempty"`
	AggregateID   string          `json:"aggregate_id,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

func streamEnvelope(e bus.Envelope) StreamEnvelope {
	return StreamEnvelope{ID: e.ID, Type: e.Type, Version: e.Version, OccurredAt: e.OccurredAt,
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, Traceparent: e.Traceparent,
		AggregateID: e.AggregateID, Payload: e.Payload}
}

// getEvents streams every event published in the system as server-sent
// events until the client leaves or the process stops:
//
//   - each event is a message (no "event:" field, so EventSource.onmessage
//     gets it) with "id:" the envelope's ID and "data:" the envelope;
//   - "event: dropped" with data {"count":N} says N events were lost since
//     the last notice because this client read too slowly;
//   - a comment line every 15 s keeps proxies from closing an idle stream.
//
// Filters: type (a prefix of the event type), correlation_id and
// aggregate_id (exact).
func (s *Service) getEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := bus.Filter{TypePrefix: q.Get("type"), CorrelationID: q.Get("correlation_id"), AggregateID: q.Get("aggregate_id")}
	for _, v := range []string{f.TypePrefix, f.CorrelationID, f.AggregateID} {
		if len(v) > 200 || !utf8.ValidString(v) {
			return ErrInvalidFilter
		}
	}
	ctx := httpx.StreamContext(r) // the stream outlives the request deadline
	watcher, err := s.hub.Subscribe(ctx, f)
	if err != nil {
		return ErrEventsUnavailable.Wrap(err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // a proxy that buffers would hold the events back
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	reportDropped := func() bool {
		if n := watcher.TakeDropped(); n > 0 {
			return send("event: dropped\ndata: {\"count\":%d}\n\n", n)
		}
		return true
	}
	if !send(": watching every event of the system\n\n") {
		return nil
	}
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.stopping:
			return nil
		case <-heartbeat.C:
			if !reportDropped() || !send(": heartbeat\n\n") {
				return nil
			}
		case e, ok := <-watcher.C:
			if !ok {
				return nil // the hub closed: the process stops
			}
			data, err := json.Marshal(streamEnvelope(e))
			if err != nil {
				continue // a payload that is not JSON never passed DecodeEnvelope
			}
			if !reportDropped() || !send("id: %s\ndata: %s\n\n", e.ID, data) {
				return nil
			}
		}
	}
}
