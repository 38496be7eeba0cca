package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/modmono/shop/platform/telemetry"
)

// provider returns a provider recording into r, not installed globally.
func provider(t *testing.T, r *telemetry.Recorder) trace.Tracer {
	p := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r))
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p.Tracer("test")
}

// oneTrace records a trace of n spans: a root called name and n-1 children.
func oneTrace(tr trace.Tracer, name string, n int) string {
	ctx, root := tr.Start(context.Background(), name, trace.WithAttributes(telemetry.Module("gateway")))
	for i := 1; i < n; i++ {
		_, child := tr.Start(ctx, fmt.Sprintf("%s/%d", name, i), trace.WithAttributes(telemetry.Module("ordering")))
		child.End()
	}
	root.End()
	return root.SpanContext().TraceID().String()
}

func TestRecorderKeepsNewestTracesWithinBounds(t *testing.T) {
	t.Parallel()
	r := telemetry.NewRecorder(3, 10)
	tr := provider(t, r)
	var ids []string
	for i := range 5 {
		ids = append(ids, oneTrace(tr, fmt.Sprintf("t%d", i), 2))
	}
	got := r.Traces(0)
	if len(got) != 3 {
		t.Fatalf("%d traces, want 3 (the bound)", len(got))
	}
	for i, want := range []string{"t4", "t3", "t2"} { // newest first
		if got[i].Root != want || got[i].TraceID != ids[4-i] {
			t.Errorf("trace %d: %s %s, want %s %s", i, got[i].Root, got[i].TraceID, want, ids[4-i])
		}
	}
	if _, ok := r.Trace(ids[0]); ok {
		t.Errorf("the oldest trace was kept")
	}
	if got := r.Traces(2); len(got) != 2 || got[0].Root != "t4" {
		t.Errorf("Traces(2) = %d traces", len(got))
	}

	// Spans: 3 traces of 4 spans exceed 10, so the oldest goes.
	r = telemetry.NewRecorder(3, 10)
	tr = provider(t, r)
	for i := range 3 {
		oneTrace(tr, fmt.Sprintf("s%d", i), 4)
	}
	got = r.Traces(0)
	if len(got) != 2 || got[0].Root != "s2" || got[1].Root != "s1" {
		t.Fatalf("traces %v, want s2 and s1", roots(got))
	}
	// One trace larger than the whole budget keeps its newest spans:
	// between three quarters of the budget and all of it.
	id := oneTrace(tr, "huge", 25)
	big, ok := r.Trace(id)
	if !ok || len(big.Spans) < 8 || len(big.Spans) > 10 || big.Root != "huge" || big.Spans[len(big.Spans)-1].Name != "huge/24" {
		t.Fatalf("huge trace: %v, %d spans, root %q", ok, len(big.Spans), big.Root)
	}
	if len(r.Traces(0)) != 1 {
		t.Errorf("traces %v, want only the huge one", roots(r.Traces(0)))
	}
}

func TestRecorderTraceShape(t *testing.T) {
	t.Parallel()
	r := telemetry.NewRecorder(0, 0)
	tr := provider(t, r)
	ctx, root := tr.Start(context.Background(), "POST /api/v1/orders", trace.WithAttributes(telemetry.Module("gateway")))
	_, call := tr.Start(ctx, "ordering.PlaceOrder", trace.WithAttributes(telemetry.Module("ordering")))
	telemetry.End(call, errors.New("out of stock"))
	root.End()

	tr2, ok := r.Trace(root.SpanContext().TraceID().String())
	if !ok {
		t.Fatal("trace not recorded")
	}
	if tr2.Root != "POST /api/v1/orders" || !slices.Equal(tr2.Modules, []string{"gateway", "ordering"}) || len(tr2.Spans) != 2 || tr2.DurationMS <= 0 {
		t.Fatalf("trace %+v", tr2)
	}
	first, second := tr2.Spans[0], tr2.Spans[1]
	if first.Name != "POST /api/v1/orders" || first.ParentSpanID != "" || first.Status != "ok" || first.Module != "gateway" {
		t.Errorf("root span %+v", first)
	}
	if second.ParentSpanID != first.SpanID || second.Status != "error" || second.Error != "out of stock" ||
		second.Kind != "internal" || second.Attributes["module"] != "ordering" {
		t.Errorf("child span %+v", second)
	}
	// The JSON the console reads.
	b, _ := json.Marshal(tr2)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"trace_id", "root", "start", "duration_ms", "modules", "spans"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	span := m["spans"].([]any)[0].(map[string]any)
	for _, k := range []string{"trace_id", "span_id", "parent_span_id", "name", "module", "process", "kind", "start", "duration_ms", "status", "attributes"} {
		if _, ok := span[k]; !ok {
			t.Errorf("no %q in a span", k)
		}
	}
	if _, ok := span["error"]; ok {
		t.Errorf("error present in a span that did not fail")
	}
	if _, ok := r.Trace("not-an-id"); ok {
		t.Error("a malformed ID found a trace")
	}
}

func roots(ts []telemetry.Trace) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Root)
	}
	return out
}

func BenchmarkRecorderOnEnd(b *testing.B) {
	r := telemetry.NewRecorder(0, 0)
	p := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r))
	defer func() { _ = p.Shutdown(context.Background()) }()
	tr := p.Tracer("bench")
	ctx, root := tr.Start(context.Background(), "root")
	defer root.End()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, "child")
		s.End()
	}
}
