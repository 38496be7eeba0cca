package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/telemetry"
)

// Event is implemented by every published event type. Its JSON encoding is
// the envelope's payload.
type Event interface {
	// EventType names the event, "<module>.<past_tense_fact>"; it is also the topic.
	EventType() string
	// EventVersion is the schema version of this Go type, starting at 1.
	EventVersion() int
	// AggregateID identifies the aggregate the event is about.
	AggregateID() string
}

// Envelope is the one message format on every transport.
type Envelope struct {
	ID            uuid.UUID       `json:"id"`
	Type          string          `json:"type"`
	Version       int             `json:"version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	Traceparent   string          `json:"traceparent,omitempty"`
	AggregateID   string          `json:"aggregate_id,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

// NewEnvelope wraps e, taking the correlation, causation and trace IDs from ctx.
func NewEnvelope(ctx context.Context, e Event, at time.Time) (Envelope, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return Envelope{}, fmt.Errorf("bus: encode %s: %w", e.EventType(), err)
	}
	return Envelope{
		ID:            uuid.New(),
		Type:          e.EventType(),
		Version:       e.EventVersion(),
		OccurredAt:    at.UTC(),
		CorrelationID: correlation.ID(ctx),
		CausationID:   correlation.Causation(ctx),
		Traceparent:   telemetry.Traceparent(ctx),
		AggregateID:   e.AggregateID(),
		Payload:       payload,
	}, nil
}

// ErrMalformed marks a message that can never be processed: retrying it is pointless.
var ErrMalformed = errors.New("bus: malformed message")

// DecodeEnvelope parses a message body. Unknown fields are allowed so a newer
// producer's envelope still reads; the required ones must be present.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case env.ID == uuid.Nil:
		return Envelope{}, fmt.Errorf("%w: missing id", ErrMalformed)
	case env.Type == "":
		return Envelope{}, fmt.Errorf("%w: missing type", ErrMalformed)
	case env.Version < 1:
		return Envelope{}, fmt.Errorf("%w: version must be >= 1", ErrMalformed)
	case len(env.Payload) == 0 || string(env.Payload) == "null":
		return Envelope{}, fmt.Errorf("%w: missing payload", ErrMalformed)
	}
	return env, nil
}

// Context returns ctx carrying the envelope's correlation ID and trace
// context, with the envelope itself as the cause of any work done in it. A
// span context already in ctx (the relay's, from the message metadata) is
// kept: it is a later point of the same trace.
func (e Envelope) Context(ctx context.Context) context.Context {
	if e.CorrelationID != "" {
		ctx = correlation.With(ctx, e.CorrelationID)
	}
	if e.Traceparent != "" && !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = telemetry.WithTraceparent(ctx, e.Traceparent)
	}
	return correlation.WithCausation(ctx, e.ID.String())
}

// DecodePayload unmarshals the payload into dst, ignoring fields dst does
// not know: a tolerant reader, so a producer that added an optional field to
// a published version (the contract gate allows only that) does not break
// consumers still running an older build. Removed, renamed or retyped
// fields never reach a consumer: the gate refuses them.
func (e Envelope) DecodePayload(dst any) error {
	if err := json.Unmarshal(e.Payload, dst); err != nil {
		return fmt.Errorf("%w: %s v%d payload: %v", ErrMalformed, e.Type, e.Version, err)
	}
	return nil
}
