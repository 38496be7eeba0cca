package telemetry_test

import (
	"slices"
	"testing"
	"time"

	"github.com/modmono/shop/platform/telemetry"
)

func TestMergeJoinsTheSpansOfOneTraceFromSeveralProcesses(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	span := func(id, parent, name, module string, startMS, durMS int) telemetry.Span {
		return telemetry.Span{TraceID: "a", SpanID: id, ParentSpanID: parent, Name: name, Module: module,
			Start: t0.Add(time.Duration(startMS) * time.Millisecond), DurationMS: float64(durMS)}
	}
	gateway := []telemetry.Trace{
		{TraceID: "a", Spans: []telemetry.Span{span("1", "", "POST /api/v1/orders", "gateway", 0, 10), span("2", "1", "ordering.PlaceOrder", "ordering", 1, 5)}},
		{TraceID: "old", Start: t0.Add(-time.Hour), Spans: []telemetry.Span{{TraceID: "old", SpanID: "9", Name: "GET /api/v1/products", Start: t0.Add(-time.Hour), DurationMS: 1}}},
	}
	payments := []telemetry.Trace{
		{TraceID: "a", Spans: []telemetry.Span{span("3", "2", "payments.Charge", "payments", 20, 15)}},
		{TraceID: "b", Spans: []telemetry.Span{span("7", "6", "handle payments.payment_captured", "notifications", 50, 2)}},
	}
	got := telemetry.Merge(0, gateway, payments)
	if ids := []string{got[0].TraceID, got[1].TraceID, got[2].TraceID}; !slices.Equal(ids, []string{"b", "a", "old"}) || len(got) != 3 {
		t.Fatalf("traces %v, want b, a, old (newest first)", ids)
	}
	a := got[1]
	if a.Root != "POST /api/v1/orders" || len(a.Spans) != 3 || a.DurationMS != 35 || !a.Start.Equal(t0) ||
		!slices.Equal(a.Modules, []string{"gateway", "ordering", "payments"}) {
		t.Errorf("joined trace: %+v", a)
	}
	if got[0].Root != "handle payments.payment_captured" {
		t.Errorf("a trace whose root ran in a process that did not answer is named by its earliest orphan, got %q", got[0].Root)
	}
	if n := len(telemetry.Merge(1, gateway, payments)); n != 1 {
		t.Errorf("limit 1: %d traces", n)
	}
}
