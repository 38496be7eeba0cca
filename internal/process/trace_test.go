package process_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/telemetry"
)

const jwtSecret = "trace-test-secret-0123456789abcdefghijklmnop"

// TestOneCheckoutIsOneTrace places an order in the monolith and follows its
// trace: the request, ordering's API, the saga's steps calling inventory
// and payments, the outbox, the relay and the handlers of the events it
// published are all spans of one trace, each with its module, every span
// but the root the child of another span of the trace.
func TestOneCheckoutIsOneTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application against Postgres")
	}
	spans := tracetest.NewSpanRecorder()
	var h *host.HTTP
	var rec *telemetry.Telemetry
	key := authtest.NewKey(t)
	apptest.StartWith(t, map[string]string{"APP_JWT_SECRET": jwtSecret, "APP_JWT_PRIVATE_KEY": key.PEM, "APP_PAYMENT_TIMEOUT": "2s"},
		telemetry.AddProcessor(spans), &h, &rec)
	admin, customer := key.Token(t, auth.Admin), key.Token(t, auth.Customer)
	do := func(method, path, token, body string, want int) map[string]any {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", uuid.NewString())
		w := httptest.NewRecorder()
		h.Root.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return out
	}
	product := do("POST", "/api/v1/products", admin, `{"name":"Tea","price":450,"currency":"EUR"}`, http.StatusCreated)["id"].(string)
	do("PUT", "/api/v1/inventory/"+product, admin, `{"on_hand":5}`, http.StatusOK)
	order := do("POST", "/api/v1/orders", customer,
		fmt.Sprintf(`{"items":[{"product_id":%q,"quantity":2}],"payment":{"token":"tok_ok"}}`, product), http.StatusAccepted)["id"].(string)

	// The trace of the order is the one of its request's server span.
	var id trace.TraceID
	for _, s := range spans.Ended() {
		if s.Name() == "POST /api/v1/orders" {
			id = s.SpanContext().TraceID()
		}
	}
	if !id.IsValid() {
		t.Fatalf("no span POST /api/v1/orders among %v", names(spans.Ended()))
	}
	want := []string{
		"POST /api/v1/orders", "ordering.PlaceOrder", "outbox ordering.order_placed",
		"saga reserve", "inventory.Reserve", "saga charge", "payments.Charge", "saga confirm", "inventory.Commit",
		"outbox ordering.order_confirmed", "publish ordering.order_confirmed",
		"handle notifications.order_confirmed", "handle ordering.project_placed", "handle ordering.project_confirmed",
	}
	var got []sdktrace.ReadOnlySpan
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = inTrace(spans.Ended(), id)
		if missing := missing(want, names(got)); len(missing) == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("order %s: trace %s lacks %v; it has %v", order, id, missing, names(got))
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Logf("trace %s: %d spans: %v", id, len(got), names(got))
	ids := map[trace.SpanID]bool{}
	for _, s := range got {
		ids[s.SpanContext().SpanID()] = true
	}
	roots, modules := 0, map[string]bool{}
	for _, s := range got {
		m := moduleOf(s)
		if m == "" {
			t.Errorf("span %s has no module", s.Name())
		}
		modules[m] = true
		switch {
		case !s.Parent().IsValid():
			roots++
		case !ids[s.Parent().SpanID()]:
			t.Errorf("span %s: parent %s is not in the trace", s.Name(), s.Parent().SpanID())
		}
	}
	if roots != 1 {
		t.Errorf("%d roots, want 1", roots)
	}
	for _, m := range []string{"gateway", "ordering", "inventory", "payments", "notifications"} {
		if !modules[m] {
			t.Errorf("no span of module %s in %v", m, modules)
		}
	}
	// The handler of the confirmation descends from the saga step that
	// published it, through the outbox and the relay.
	if chain := ancestry(got, "handle notifications.order_confirmed"); !slices.Contains(chain, "publish ordering.order_confirmed") ||
		!slices.Contains(chain, "saga confirm") || !slices.Contains(chain, "POST /api/v1/orders") {
		t.Errorf("handle notifications.order_confirmed descends from %v", chain)
	}

	// The in-memory recorder keeps the same trace for the console.
	tr, ok := rec.Recorder.Trace(id.String())
	if !ok || tr.Root != "POST /api/v1/orders" || !slices.Contains(tr.Modules, "payments") || len(tr.Spans) < len(want) {
		t.Errorf("recorded trace: ok %v, root %q, modules %v, %d spans", ok, tr.Root, tr.Modules, len(tr.Spans))
	}
}

func inTrace(all []sdktrace.ReadOnlySpan, id trace.TraceID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range all {
		if s.SpanContext().TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

func moduleOf(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Attributes() {
		if kv.Key == telemetry.ModuleKey {
			return kv.Value.AsString()
		}
	}
	return ""
}

// ancestry lists the names of the ancestors of the first span called name.
func ancestry(spans []sdktrace.ReadOnlySpan, name string) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var s sdktrace.ReadOnlySpan
	for _, sp := range spans {
		byID[sp.SpanContext().SpanID()] = sp
		if sp.Name() == name && s == nil {
			s = sp
		}
	}
	var chain []string
	for s != nil && s.Parent().IsValid() {
		s = byID[s.Parent().SpanID()]
		if s != nil {
			chain = append(chain, s.Name())
		}
	}
	return chain
}
