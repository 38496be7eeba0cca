package e2e_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTraceAcrossProcesses deploys the shop with payments extracted, every
// process exporting its spans over OTLP/HTTP to a collector in the test,
// and places one order: its trace spans both processes, the payments
// process's spans children of the monolith's call.
func TestTraceAcrossProcesses(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	s := deploy(t, topology{name: "payments-extracted-traced", bus: "amqp", extract: []string{"payments"},
		env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": col.url,
			"OTEL_BSP_SCHEDULE_DELAY":     "100", // ms: export soon after each span
		}})
	admin := s.entry.admin(t)
	tea := stocked(t, admin, 450, 5)
	c := s.entry.newCustomer(t)
	id := place(t, c.client, "tok_ok", tea, 2)
	if o := settled(t, c.client, id); o.Status != "confirmed" {
		t.Fatalf("order %+v", o)
	}

	// The order's trace is the one of the POST that placed it.
	var trace []collected
	deadline := time.Now().Add(30 * time.Second)
	for {
		trace = col.traceOf("POST /api/v1/orders", "order_id", id)
		if hasSpan(trace, "shop-payments", "payments.Charge") && hasSpan(trace, "", "handle notifications.order_confirmed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the order's trace lacks the payments process's payments.Charge or the confirmation's handler: %v", trace)
		}
		time.Sleep(100 * time.Millisecond)
	}
	byID := map[string]collected{}
	processes := map[string]bool{}
	for _, sp := range trace {
		byID[string(sp.span.SpanId)] = sp
		processes[sp.service] = true
	}
	if len(processes) != 2 {
		t.Errorf("the trace spans processes %v, want the monolith and payments", processes)
	}
	// The payments process's request continues the monolith's call.
	linked := false
	for _, sp := range trace {
		if sp.service != "shop-payments" || len(sp.span.ParentSpanId) == 0 {
			continue
		}
		if parent, ok := byID[string(sp.span.ParentSpanId)]; ok && parent.service != "shop-payments" {
			linked = true
		}
	}
	if !linked {
		t.Errorf("no span of the payments process has a parent in the monolith: %v", trace)
	}
	for _, sp := range trace {
		if attr(sp.span, "module") == "" {
			t.Errorf("span %s of %s has no module", sp.span.Name, sp.service)
		}
	}
}

// collected is a span as a process exported it, with its service.name.
type collected struct {
	service string
	span    *tracepb.Span
}

func (c collected) String() string { return c.service + ":" + c.span.Name }

// collector is the smallest OTLP/HTTP trace receiver: it keeps every span.
type collector struct {
	url   string
	mu    sync.Mutex
	spans []collected
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		b, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.add(&req)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *collector) add(req *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				c.spans = append(c.spans, collected{service: service, span: sp})
			}
		}
	}
}

// traceOf returns the spans of the trace of the span called name whose
// trace also holds a span with attribute key=value (the saga's order_id).
func (c *collector) traceOf(name, key, value string) []collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	traces := map[string][]collected{}
	for _, sp := range c.spans {
		traces[string(sp.span.TraceId)] = append(traces[string(sp.span.TraceId)], sp)
	}
	for _, spans := range traces {
		if slices.ContainsFunc(spans, func(s collected) bool { return s.span.Name == name }) &&
			slices.ContainsFunc(spans, func(s collected) bool { return attr(s.span, key) == value }) {
			return spans
		}
	}
	return nil
}

func hasSpan(spans []collected, service, name string) bool {
	return slices.ContainsFunc(spans, func(s collected) bool {
		return s.span.Name == name && (service == "" || s.service == service)
	})
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}
