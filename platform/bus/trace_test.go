package bus_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/telemetry"
)

// TestTraceContinuesThroughTheBus: an event written in a traced
// transaction is published and handled in spans of the same trace, each the
// child of the one before: outbox insert, relay publish, handler run.
func TestTraceContinuesThroughTheBus(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "bus-test"}, []sdktrace.SpanProcessor{spans}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.startBus(t, true, nil)
		ctx, request := telemetry.Tracer("test").Start(context.Background(), "request")
		err := w.producer.Tx(ctx, func(tx pgx.Tx) error {
			return (bus.Outbox{}).Add(ctx, tx, noted{topic: w.topic, Key: "k", N: 1})
		})
		request.End()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the event handled", func() bool { return len(w.seen(t)) == 1 })

		id := request.SpanContext().TraceID()
		chain := []struct{ name, module string }{
			{"request", ""}, {"outbox " + w.topic, "test"}, {"publish " + w.topic, "producer"}, {"handle " + w.name, "consumer"},
		}
		var found []sdktrace.ReadOnlySpan
		waitFor(t, "the handler's span", func() bool {
			found = found[:0]
			for _, want := range chain {
				for _, s := range spans.Ended() {
					if s.SpanContext().TraceID() == id && s.Name() == want.name {
						found = append(found, s)
						break
					}
				}
			}
			return len(found) == len(chain)
		})
		for i := 1; i < len(chain); i++ {
			s := found[i]
			if s.Parent().SpanID() != found[i-1].SpanContext().SpanID() {
				t.Errorf("%s: parent %s, want %s", s.Name(), s.Parent().SpanID(), found[i-1].Name())
			}
			if m := module(s); m != chain[i].module {
				t.Errorf("%s: module %q, want %q", s.Name(), m, chain[i].module)
			}
		}
	})
}

func module(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Attributes() {
		if kv.Key == telemetry.ModuleKey {
			return kv.Value.AsString()
		}
	}
	return ""
}
