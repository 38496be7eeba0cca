package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/bus"
)

// publishEnvelope publishes an envelope of eventType on partition p of tr,
// as a relay would.
func publishEnvelope(t *testing.T, tr bus.Transport, eventType string, p int, correlationID string) bus.Envelope {
	t.Helper()
	env := bus.Envelope{ID: uuid.New(), Type: eventType, Version: 1, OccurredAt: time.Now().UTC(),
		CorrelationID: correlationID, Payload: json.RawMessage(`{"n":1}`)}
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(bus.WireTopic(eventType, p), message.NewMessage(env.ID.String(), body)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return env
}

func receive(t *testing.T, w *bus.Watcher) bus.Envelope {
	t.Helper()
	select {
	case e, ok := <-w.C:
		if !ok {
			t.Fatal("the watcher's channel closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return bus.Envelope{}
}

// TestHubStuckWatcherNeverBlocks: a watcher that never reads loses what does
// not fit its buffer, counted, while every publish completes at once and a
// watcher that reads gets the rest.
func TestHubStuckWatcherNeverBlocks(t *testing.T) {
	t.Parallel()
	tr := bus.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = tr.Close() })
	const buffer, events = 8, 3000
	hub := bus.NewHub(tr, []string{"test.happened"}, bus.HubOptions{Buffer: buffer}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stuck, err := hub.Subscribe(ctx, bus.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := hub.Subscribe(ctx, bus.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan int)
	go func() {
		n := 0
		for range reader.C {
			n++
		}
		read <- n
	}()

	published := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(published)
		for i := range events {
			// The in-process transport's Publish returns only once every
			// subscriber, the hub included, acknowledged.
			publishEnvelope(t, tr, "test.happened", i%bus.Partitions, "")
		}
	}()
	select {
	case <-published:
	case <-time.After(time.Minute): // generous: only a blocked publisher takes this long
		t.Fatal("publishing blocked behind a watcher that never reads")
	}
	t.Logf("%d events published in %v with a stuck watcher", events, time.Since(start))

	if got := len(stuck.C); got != buffer {
		t.Errorf("the stuck watcher holds %d events, want its buffer of %d", got, buffer)
	}
	if got := stuck.TakeDropped(); got != events-buffer {
		t.Errorf("the stuck watcher lost %d events, want %d", got, events-buffer)
	}
	if got := stuck.TakeDropped(); got != 0 {
		t.Errorf("TakeDropped did not reset: %d", got)
	}
	cancel()
	n := <-read
	if lost := reader.TakeDropped(); uint64(n)+lost != events {
		t.Errorf("the reader got %d and lost %d of %d events", n, lost, events)
	}
	eventually(t, "both watchers gone", func() bool { return hub.Subscribers() == 0 })
}

// TestHubFilters: a watcher gets only the events of its type prefix and
// correlation ID.
func TestHubFilters(t *testing.T) {
	t.Parallel()
	tr := bus.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = tr.Close() })
	hub := bus.NewHub(tr, []string{"orders.placed", "orders.paid", "users.joined"}, bus.HubOptions{}, nil)
	ctx := t.Context()
	byType, err := hub.Subscribe(ctx, bus.Filter{TypePrefix: "orders."})
	if err != nil {
		t.Fatal(err)
	}
	byCorrelation, err := hub.Subscribe(ctx, bus.Filter{CorrelationID: "c-1"})
	if err != nil {
		t.Fatal(err)
	}
	publishEnvelope(t, tr, "users.joined", 0, "c-0")
	placed := publishEnvelope(t, tr, "orders.placed", 3, "c-0")
	paid := publishEnvelope(t, tr, "orders.paid", 7, "c-1")
	joined := publishEnvelope(t, tr, "users.joined", 1, "c-1")

	for _, want := range []bus.Envelope{placed, paid} {
		if got := receive(t, byType); got.ID != want.ID {
			t.Errorf("type filter: got %s %s, want %s", got.Type, got.ID, want.ID)
		}
	}
	for _, want := range []bus.Envelope{paid, joined} {
		if got := receive(t, byCorrelation); got.ID != want.ID {
			t.Errorf("correlation filter: got %s %s, want %s", got.Type, got.ID, want.ID)
		}
	}
	if len(byType.C)+len(byCorrelation.C) != 0 {
		t.Error("a watcher got an event its filter excludes")
	}
}

// TestHubCloseAndResubscribe: a watcher's channel closes with its context;
// the hub attaches again for the next watcher; Close ends every watcher and
// refuses new ones.
func TestHubCloseAndResubscribe(t *testing.T) {
	t.Parallel()
	tr := bus.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = tr.Close() })
	hub := bus.NewHub(tr, []string{"test.happened"}, bus.HubOptions{}, nil)
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		w, err := hub.Subscribe(ctx, bus.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		want := publishEnvelope(t, tr, "test.happened", 2, "")
		if got := receive(t, w); got.ID != want.ID {
			t.Fatalf("got %s, want %s", got.ID, want.ID)
		}
		cancel()
		eventually(t, "the channel closed", func() bool {
			select {
			case _, ok := <-w.C:
				return !ok
			default:
				return false
			}
		})
	}
	w, err := hub.Subscribe(t.Context(), bus.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.C; ok {
		t.Error("a watcher's channel is open after Close")
	}
	if _, err := hub.Subscribe(t.Context(), bus.Filter{}); !errors.Is(err, bus.ErrHubClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	// Publishing with the tap detached still works (nobody waits for it).
	publishEnvelope(t, tr, "test.happened", 0, "")
}

// TestHubOverRabbitMQ: the hub of one process sees what another process
// publishes on the broker, on every partition, and stops consuming when its
// last watcher leaves.
func TestHubOverRabbitMQ(t *testing.T) {
	t.Parallel()
	url := amqptest.NewVHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watching, err := bus.NewAMQP(ctx, url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watching.Close() })
	publishing, err := bus.NewAMQP(ctx, url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = publishing.Close() })

	hub := bus.NewHub(watching, []string{"test.happened", "test.other"}, bus.HubOptions{}, nil)
	for round := range 2 { // attach, detach, attach again
		wctx, stop := context.WithCancel(context.Background())
		w, err := hub.Subscribe(wctx, bus.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uuid.UUID]bool{}
		var sent []bus.Envelope
		for p := range bus.Partitions {
			sent = append(sent, publishEnvelope(t, publishing, "test.happened", p, ""),
				publishEnvelope(t, publishing, "test.other", p, ""))
		}
		for range sent {
			seen[receive(t, w).ID] = true
		}
		for _, e := range sent {
			if !seen[e.ID] {
				t.Errorf("round %d: event %s on %s not seen", round, e.ID, e.Type)
			}
		}
		stop()
		eventually(t, "the watcher gone", func() bool { return hub.Subscribers() == 0 })
	}
	if err := hub.Close(); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	e := bus.Envelope{Type: "ordering.order_placed", CorrelationID: "c-1", AggregateID: "o-1"}
	for _, tc := range []struct {
		name string
		f    bus.Filter
		want bool
	}{
		{"zero filter", bus.Filter{}, true},
		{"type prefix", bus.Filter{TypePrefix: "ordering."}, true},
		{"other type", bus.Filter{TypePrefix: "payments."}, false},
		{"correlation", bus.Filter{CorrelationID: "c-1"}, true},
		{"other correlation", bus.Filter{CorrelationID: "c-2"}, false},
		{"aggregate", bus.Filter{AggregateID: "o-1"}, true},
		{"other aggregate", bus.Filter{AggregateID: "o-2"}, false},
		{"all three", bus.Filter{TypePrefix: "ordering.order_", CorrelationID: "c-1", AggregateID: "o-1"}, true},
	} {
		if got := tc.f.Match(e); got != tc.want {
			t.Errorf("%s: Match = %t, want %t", tc.name, got, tc.want)
		}
	}
}

// TestHubAttachesWhilePublishersRun: watchers come and go (attaching and
// detaching the tap each time) while events are published without pause.
// The in-process transport subscribes under the lock a publisher holds
// while it waits for the tap's reader, so attaching under the hub's own
// lock, which the reader needs, deadlocked the bus.
func TestHubAttachesWhilePublishersRun(t *testing.T) {
	t.Parallel()
	tr := bus.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = tr.Close() })
	hub := bus.NewHub(tr, []string{"test.happened", "test.other"}, bus.HubOptions{Buffer: 4}, nil)
	t.Cleanup(func() { _ = hub.Close() })

	stop := make(chan struct{})
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				publishEnvelope(t, tr, "test.happened", i%bus.Partitions, "")
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			ctx, cancel := context.WithCancel(context.Background())
			if _, err := hub.Subscribe(ctx, bus.Filter{}); err != nil {
				t.Error(err)
			}
			cancel()
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Error("200 watchers could not come and go in a minute while events were published: the hub deadlocks with the publishers")
	}
	close(stop)
	select {
	case <-published:
	case <-time.After(time.Minute):
		t.Error("a publisher is stuck")
	}
}
