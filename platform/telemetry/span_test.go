package telemetry_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/modmono/shop/platform/telemetry"
)

func TestTraceparentRoundTrip(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := telemetry.WithTraceparent(context.Background(), tp)
	if got := telemetry.Traceparent(ctx); got != tp {
		t.Errorf("Traceparent = %q, want %q", got, tp)
	}
	f := telemetry.LogFields(ctx)
	if len(f) != 2 || f[0].String != tp[3:35] || f[1].String != tp[36:52] {
		t.Errorf("LogFields = %v", f)
	}
	for _, bad := range []string{"", "junk", "00-" + "00000000000000000000000000000000" + "-00f067aa0ba902b7-01"} {
		ctx := telemetry.WithTraceparent(context.Background(), bad)
		if telemetry.Traceparent(ctx) != "" || telemetry.LogFields(ctx) != nil {
			t.Errorf("%q gave a trace context", bad)
		}
	}
}

// TestServedCallIsOneSpan: a call the rpc server serves gets its span
// there, not a second one from the module's tracing decorator; a nested
// call gets its own.
func TestServedCallIsOneSpan(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "test"}, []sdktrace.SpanProcessor{spans}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()

	ctx, served := telemetry.StartServed(context.Background(), "payments", "Charge")
	ctx, again := telemetry.StartCall(ctx, "payments", "Charge")
	_, nested := telemetry.StartCall(ctx, "inventory", "Reserve")
	nested.End()
	again.End()
	served.End()
	var names []string
	for _, s := range spans.Ended() {
		names = append(names, s.Name()+"/"+s.SpanKind().String())
	}
	if len(names) != 2 || names[0] != "inventory.Reserve/internal" || names[1] != "payments.Charge/server" {
		t.Errorf("spans %v", names)
	}
	if got := tel.Recorder.Traces(0); len(got) != 1 || len(got[0].Spans) != 2 || got[0].Spans[0].Process != "test" {
		t.Errorf("recorded %+v", got)
	}
}

// TestDisabledRecordsNothing: OTEL_SDK_DISABLED makes every span a no-op.
func TestDisabledRecordsNothing(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(context.Background(), telemetry.Config{Disabled: true}, []sdktrace.SpanProcessor{spans}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	ctx, span := telemetry.StartCall(context.Background(), "ordering", "PlaceOrder")
	span.End()
	if span.IsRecording() || telemetry.Traceparent(ctx) != "" || len(spans.Ended()) != 0 || len(tel.Recorder.Traces(0)) != 0 {
		t.Errorf("disabled tracing recorded a span")
	}
}
