package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/telemetry"
)

// TestTraceNamesSpansByRoute checks the server span of a request: named by
// method and route pattern, continuing the caller's trace, with its
// module; health probes and scrapes get none.
func TestTraceNamesSpansByRoute(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "test"}, []sdktrace.SpanProcessor{spans}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	r := httpx.NewRouter(httpx.Options{})
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	r.Get("/products/{id}", ok)
	r.Get("/health/live", ok)
	r.Get("/metrics", ok)
	internal := chi.NewRouter()
	internal.Post("/payments/Charge", ok)
	r.Mount("/internal", internal)

	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/products/123", nil),
		httptest.NewRequest(http.MethodGet, "/health/live", nil),
		httptest.NewRequest(http.MethodGet, "/metrics", nil),
		httptest.NewRequest(http.MethodPost, "/internal/payments/Charge", nil),
		httptest.NewRequest(http.MethodGet, "/nowhere/42", nil),
	} {
		req.Header.Set("traceparent", tp)
		r.ServeHTTP(httptest.NewRecorder(), req)
	}

	type want struct{ name, module string }
	var got []want
	for _, s := range spans.Ended() {
		var module string
		for _, kv := range s.Attributes() {
			if kv.Key == telemetry.ModuleKey {
				module = kv.Value.AsString()
			}
		}
		got = append(got, want{s.Name(), module})
		if s.SpanContext().TraceID().String() != tp[3:35] || s.Parent().SpanID().String() != tp[36:52] {
			t.Errorf("%s: trace %s parent %s, want the caller's", s.Name(), s.SpanContext().TraceID(), s.Parent().SpanID())
		}
	}
	wantSpans := []want{
		{"GET /products/{id}", "gateway"},
		{"POST /internal/payments/Charge", "payments"},
		{"GET unmatched", "gateway"},
	}
	if len(got) != len(wantSpans) {
		t.Fatalf("spans = %v, want %v", got, wantSpans)
	}
	for i := range got {
		if got[i] != wantSpans[i] {
			t.Errorf("span %d = %v, want %v", i, got[i], wantSpans[i])
		}
	}
}
