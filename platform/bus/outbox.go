package bus

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/telemetry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the migration set of the messaging tables (outbox, inbox,
// dead_letters) that every module schema holds.
func Migrations() pgxdb.MigrationSet {
	sub, _ := fs.Sub(migrations, "migrations")
	return pgxdb.MigrationSet{VersionTable: "bus_schema_version", FS: sub}
}

// Outbox appends events to a module's outbox inside the caller's transaction.
// Its zero value is ready to use.
type Outbox struct {
	// Now is the clock that stamps occurred_at; default time.Now.
	Now func() time.Time
}

// Add writes events to the outbox of the schema tx runs in. They are
// published only if tx commits, and in the order given. Each insert is a
// span ("outbox <event type>") whose context the envelope carries, so the
// relay and the handlers continue the trace from there.
func (o Outbox) Add(ctx context.Context, tx pgx.Tx, events ...Event) error {
	for _, e := range events {
		row, err := o.row(ctx, e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insertOutbox, row...); err != nil {
			return fmt.Errorf("bus: write outbox: %w", err)
		}
	}
	return nil
}

// Queue is Add for a change sent as one batch (pgxdb.DB.TxBatch, TxDecide, Batch): it
// queues the events' outbox rows in b, whose transaction publishes them if
// it commits.
func (o Outbox) Queue(ctx context.Context, b *pgx.Batch, events ...Event) error {
	for _, e := range events {
		row, err := o.row(ctx, e)
		if err != nil {
			return err
		}
		b.Queue(insertOutbox, row...)
	}
	return nil
}

const insertOutbox = `INSERT INTO outbox (id, topic, partition, envelope) VALUES ($1, $2, $3, $4)`

// row is e's outbox row, made in a span that the envelope carries.
func (o Outbox) row(ctx context.Context, e Event) (_ []any, err error) {
	ctx, span := tracer().Start(ctx, "outbox "+e.EventType(), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(telemetry.Module(moduleOf(e.EventType())), attribute.String("messaging.destination.name", e.EventType())))
	defer func() { telemetry.End(span, err) }()
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	env, err := NewEnvelope(ctx, e, now())
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("bus: encode envelope: %w", err)
	}
	return []any{env.ID, env.Type, Partition(env.AggregateID), body}, nil
}

// moduleOf is the module that publishes eventType, "<module>.<fact>".
func moduleOf(eventType string) string {
	m, _, _ := strings.Cut(eventType, ".")
	return m
}

var busTracer = telemetry.Tracer("github.com/modmono/shop/platform/bus")

func tracer() trace.Tracer { return busTracer }

// Partitions is how many ordered lanes each event type is spread over. Events
// of one aggregate always take the same lane, so they keep their order;
// events of different aggregates are handled in parallel. Producers and
// consumers must agree on it: it is part of the wire contract.
const Partitions = 8

// Partition returns the lane of an aggregate's events.
func Partition(aggregateID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(aggregateID))
	return int(h.Sum32() % Partitions)
}

// WireTopic is the transport topic of one lane of an event type, e.g.
// "catalog.product_created.p3" (a RabbitMQ exchange, a GoChannel topic).
func WireTopic(eventType string, partition int) string {
	return eventType + ".p" + strconv.Itoa(partition)
}
