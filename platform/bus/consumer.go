package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/telemetry"
)

// HandlerFunc applies one message inside tx, the consumer module's
// transaction that also records the message in its inbox. It must not call
// other modules or the network: what it changes commits or rolls back with
// the inbox row.
type HandlerFunc func(ctx context.Context, tx pgx.Tx, e Envelope) error

// Consumer subscribes a handler to a topic.
type Consumer struct {
	// Name is unique in the whole system: "<module>.<what it does>". It keys
	// the inbox and the dead-letter store and names the RabbitMQ queue.
	Name string
	// Topic is the event type consumed, e.g. "catalog.product_created".
	Topic string
	// DB is the consuming module's database.
	DB *pgxdb.DB
	// Handle applies a message.
	Handle HandlerFunc
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

func (c Consumer) validate() error {
	var errs []error
	if !validName.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("consumer name %q must look like module.handler", c.Name))
	}
	if !validName.MatchString(c.Topic) {
		errs = append(errs, fmt.Errorf("consumer %s: topic %q must look like module.event", c.Name, c.Topic))
	}
	if c.DB == nil || c.Handle == nil {
		errs = append(errs, fmt.Errorf("consumer %s: DB and Handle are required", c.Name))
	}
	return errors.Join(errs...)
}

// handlerFunc retries one message until it succeeds, it is dead-lettered,
// or the bus stops. Failures are of two kinds (IsTransient):
//
//   - transient ones (the database failing over, a full pool, a
//     serialization failure, a lock held by a maintenance job) say nothing
//     about the message: it is retried without limit, with a capped backoff,
//     counted in bus_handler_transient_retries_total and logged at most every
//     TransientLogEvery. The message blocks its ordered lane meanwhile, as it
//     must: the next event of the same aggregate may depend on it.
//   - content failures (anything else) are retried MaxRetries times, then
//     stored as a dead letter; a malformed message (ErrMalformed) at once.
//
// When the bus stops, the loop ends without acking: the message is
// redelivered to the next process. The loop is hand-written rather than
// Watermill's Retry middleware, which has one bounded budget for every error.
func (b *Bus) handlerFunc(c Consumer) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		if _, err := DecodeEnvelope(msg.Payload); err != nil {
			return b.deadLetter(c, msg, err, 1)
		}
		// The relay's publish span, when the transport kept the metadata.
		ctx := telemetry.WithTraceparent(msg.Context(), msg.Metadata.Get(telemetry.TraceparentHeader))
		backoff := newRetryDelay(b.cfg.RetryInitial, b.cfg.RetryMax)
		var attempts, contentFailures, transientFailures int
		var lastLogged time.Time
		for {
			attempts++
			err := b.attempt(ctx, c, msg.Payload, nil)
			switch {
			case err == nil:
				if transientFailures > 0 {
					b.log.Info("message handled after transient failures", zap.String("handler", c.Name),
						zap.String("message_id", msg.UUID), zap.Int("transient_failures", transientFailures))
				}
				return nil
			case errors.Is(err, ErrMalformed):
				return b.deadLetter(c, msg, err, attempts)
			case IsTransient(err):
				transientFailures++
				b.metrics.transientRetries.WithLabelValues(c.Name).Inc()
				if time.Since(lastLogged) >= b.cfg.TransientLogEvery {
					lastLogged = time.Now()
					b.log.Warn("transient handler failure; retrying without limit", zap.String("handler", c.Name),
						zap.String("message_id", msg.UUID), zap.Int("transient_failures", transientFailures), zap.Error(err))
				}
			default:
				contentFailures++
				if contentFailures > b.cfg.MaxRetries {
					return b.deadLetter(c, msg, err, attempts)
				}
			}
			select {
			case <-time.After(backoff.next()):
			case <-msg.Context().Done():
				// Shutting down, not failing: leave the message to be redelivered.
				return err
			case <-b.stopping:
				return err
			}
		}
	}
}

// retryDelay is an exponential backoff with jitter, capped: retries of many
// messages don't align, and a long outage is polled at the cap.
type retryDelay struct {
	current, max time.Duration
}

func newRetryDelay(initial, max time.Duration) *retryDelay {
	return &retryDelay{current: initial, max: max}
}

func (r *retryDelay) next() time.Duration {
	d := r.current
	r.current = min(r.current*2, r.max)
	// ±50% jitter
	return d/2 + rand.N(d+1)
}

// attempt runs the handler once, in a transaction with the inbox insert.
// extra, when set, runs in the same transaction (replay uses it to delete
// the dead letter atomically with the effect).
func (b *Bus) attempt(ctx context.Context, c Consumer, body []byte, extra func(pgx.Tx) error) (err error) {
	env, err := DecodeEnvelope(body)
	if err != nil {
		return err
	}
	// The handler finishes even if the subscription is being closed:
	// graceful shutdown waits for it rather than cutting its transaction.
	ctx, cancel := context.WithTimeout(env.Context(context.WithoutCancel(ctx)), b.cfg.HandlerTimeout)
	defer cancel()
	ctx, span := tracer().Start(ctx, "handle "+c.Name, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(telemetry.Module(c.DB.Module), attribute.String("messaging.consumer.group.name", c.Name),
			attribute.String("messaging.message.id", env.ID.String()), attribute.String("messaging.destination.name", env.Type)))
	start := time.Now()
	outcome := "ok"
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
			b.log.Error("message handler panicked", append(telemetry.LogFields(ctx), zap.String("handler", c.Name), zap.Any("panic", p),
				zap.ByteString("stack", debug.Stack()))...)
		}
		if err != nil {
			outcome = "error"
		}
		// A transient failure is logged by the retry loop, at most every
		// TransientLogEvery: an outage would otherwise log every attempt.
		if err != nil && !IsTransient(err) {
			b.log.Warn("message handler failed", append(telemetry.LogFields(ctx), zap.String("handler", c.Name), zap.String("message_id", env.ID.String()),
				zap.String("correlation_id", env.CorrelationID), zap.Error(err))...)
		}
		span.SetAttributes(attribute.String("outcome", outcome))
		telemetry.End(span, err)
		b.metrics.handled.WithLabelValues(c.Name, outcome).Inc()
		b.metrics.handleTime.WithLabelValues(c.Name).Observe(time.Since(start).Seconds())
	}()
	// The inbox row travels with BEGIN: a message costs its effect's round
	// trips and two more.
	fresh := false
	return c.DB.TxBatch(ctx, func(b *pgx.Batch) error {
		b.Queue(`INSERT INTO inbox (handler, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c.Name, env.ID).
			Exec(func(tag pgconn.CommandTag) error {
				fresh = tag.RowsAffected() == 1
				return nil
			})
		return nil
	}, func(tx pgx.Tx) error {
		if fresh {
			if err := c.Handle(ctx, tx, env); err != nil {
				return err
			}
		} else {
			outcome = "duplicate"
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
}

// Listener reacts to a topic in every process that runs it, rather than in
// one instance of its module: an in-memory cache dropping a changed entry is
// the use. It has no inbox, no transaction and no retries: its effect must be
// harmless to repeat, and a failure is only logged.
type Listener struct {
	Name   string // unique: "<module>.<what it does>"
	Topic  string // event type
	Handle func(ctx context.Context, e Envelope) error
}

func (b *Bus) listenerFunc(l Listener) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		env, err := DecodeEnvelope(msg.Payload)
		if err == nil {
			ctx := telemetry.WithTraceparent(msg.Context(), msg.Metadata.Get(telemetry.TraceparentHeader))
			ctx, span := tracer().Start(env.Context(ctx), "listen "+l.Name, trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(telemetry.Module(moduleOf(l.Name)), attribute.String("messaging.message.id", env.ID.String())))
			err = l.Handle(ctx, env)
			telemetry.End(span, err)
		}
		if err != nil {
			b.log.Warn("listener failed; message dropped", zap.String("listener", l.Name), zap.Error(err))
		}
		return nil
	}
}
