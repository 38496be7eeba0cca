package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/bus"
)

// stuckWriter is a client that takes nothing until released: every write
// waits for it.
type stuckWriter struct {
	*httptest.ResponseRecorder
	release chan struct{}
	mu      sync.Mutex
}

func (w *stuckWriter) Write(b []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ResponseRecorder.Write(b)
}

func (w *stuckWriter) body() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Body.String()
}

func publish(t *testing.T, tr bus.Transport, n int) {
	t.Helper()
	for i := range n {
		env := bus.Envelope{ID: uuid.New(), Type: "test.happened", Version: 1, OccurredAt: time.Now(), Payload: json.RawMessage(`{}`)}
		body, _ := json.Marshal(env)
		if err := tr.Publish(bus.WireTopic("test.happened", i%bus.Partitions), message.NewMessage(env.ID.String(), body)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStreamOfAStuckClient: a client that takes nothing holds back no
// publisher; once it reads again it is told how many events it lost, and
// the stream ends when the server stops.
func TestStreamOfAStuckClient(t *testing.T) {
	t.Parallel()
	tr := bus.NewGoChannel(watermill.NopLogger{})
	t.Cleanup(func() { _ = tr.Close() })
	const buffer = 4
	hub := bus.NewHub(tr, []string{"test.happened"}, bus.HubOptions{Buffer: buffer}, nil)
	stopping := make(chan struct{})
	s := &Service{hub: hub, log: zap.NewNop(), stopping: stopping, heartbeat: 50 * time.Millisecond}

	w := &stuckWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
	r := httptest.NewRequestWithContext(context.Background(), "GET", "/api/v1/admin/events", nil)
	done := make(chan error, 1)
	go func() { done <- s.getEvents(w, r) }()
	for hub.Subscribers() == 0 {
		time.Sleep(5 * time.Millisecond)
	}

	const events = 500
	published := make(chan struct{})
	go func() { defer close(published); publish(t, tr, events) }()
	select {
	case <-published:
	case <-time.After(time.Minute): // generous: only a blocked publisher takes this long
		t.Fatal("publishing blocked behind a client that reads nothing")
	}
	close(w.release)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.body(), "event: dropped\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for !strings.Contains(w.body(), ": heartbeat\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(stopping)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end when the server stopped")
	}

	body := w.body()
	delivered := strings.Count(body, "\ndata: {\"id\"")
	var lost int
	for _, line := range strings.Split(body, "\n") {
		if data, ok := strings.CutPrefix(line, "data: {\"count\":"); ok {
			var n int
			if err := json.Unmarshal([]byte(strings.TrimSuffix(data, "}")), &n); err != nil {
				t.Fatalf("dropped notice %q: %v", line, err)
			}
			lost += n
		}
	}
	t.Logf("a stuck client got %d events and was told it lost %d", delivered, lost)
	if !strings.Contains(body, ": heartbeat\n") {
		t.Error("no heartbeat")
	}
	if lost == 0 || delivered+lost != events {
		t.Errorf("delivered %d and reported %d lost of %d events\n%s", delivered, lost, events, body)
	}
	if w.Header().Get("Content-Type") != "text/event-stream" || w.Code != http.StatusOK {
		t.Errorf("answer %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}
