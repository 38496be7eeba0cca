package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/telemetry"
)

func TestEnvelopeCarriesContext(t *testing.T) {
	t.Parallel()
	ctx := correlation.With(context.Background(), "corr-1")
	ctx = correlation.WithCausation(ctx, "cause-1")
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	ctx = telemetry.WithTraceparent(ctx, tp)
	env, err := bus.NewEnvelope(ctx, noted{topic: "test.noted", Key: "k", N: 1}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(env)
	back, err := bus.DecodeEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	if back.CorrelationID != "corr-1" || back.CausationID != "cause-1" || back.Traceparent != tp || back.Type != "test.noted" ||
		back.Version != 1 || back.AggregateID != "k" || !back.OccurredAt.Equal(env.OccurredAt) {
		t.Fatalf("%+v", back)
	}
	// Work done because of this message is caused by it and keeps its correlation.
	hctx := back.Context(context.Background())
	if correlation.ID(hctx) != "corr-1" || correlation.Causation(hctx) != back.ID.String() || telemetry.Traceparent(hctx) != tp {
		t.Fatalf("handler context: %q %q %q", correlation.ID(hctx), correlation.Causation(hctx), telemetry.Traceparent(hctx))
	}
	var ev noted
	if err := back.DecodePayload(&ev); err != nil || ev.N != 1 {
		t.Fatalf("payload %+v %v", ev, err)
	}
}

func TestDecodeEnvelopeRejectsIncompleteMessages(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":     `{`,
		"no id":        `{"type":"a.b","version":1,"payload":{}}`,
		"no type":      `{"id":"0190a3c4-0000-7000-8000-000000000000","version":1,"payload":{}}`,
		"version zero": `{"id":"0190a3c4-0000-7000-8000-000000000000","type":"a.b","version":0,"payload":{}}`,
		"no payload":   `{"id":"0190a3c4-0000-7000-8000-000000000000","type":"a.b","version":1}`,
		"null payload": `{"id":"0190a3c4-0000-7000-8000-000000000000","type":"a.b","version":1,"payload":null}`,
	} {
		if _, err := bus.DecodeEnvelope([]byte(body)); !errors.Is(err, bus.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"id":"0190a3c4-0000-7000-8000-000000000000","type":"a.b","version":1,"payload":{"x":1}}`))
	f.Add([]byte(`{"id":"nope","type":"","version":-1,"payload":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := bus.DecodeEnvelope(body)
		if err != nil {
			if !errors.Is(err, bus.ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		if env.Type == "" || env.Version < 1 || len(env.Payload) == 0 {
			t.Fatalf("accepted an incomplete envelope: %+v", env)
		}
	})
}
