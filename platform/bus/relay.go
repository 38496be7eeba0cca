package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/telemetry"
)

// relay publishes one module's outbox. Every instance of the module runs one;
// the one holding the schema's advisory lock publishes, the others stand by
// and take over when its session ends.
//
// It wakes up when a transaction of its own process commits (db.Tx calls
// back), when another instance's relay NOTIFYs it, and at the poll interval
// as a safety net. Producers do not NOTIFY from their transactions: in
// Postgres every notifying commit takes one global lock, which measured here
// cut insert throughput to about a third.
type relay struct {
	db        *pgxdb.DB
	pub       message.Publisher
	log       *zap.Logger
	metrics   *metrics
	batchSize int
	poll      time.Duration // fallback wake-up when no signal comes
	wake      chan struct{} // a commit in this process; buffered, 1
	retention time.Duration // how long the inbox remembers a message
	timeout   time.Duration // one publish with its confirm
	pruned    time.Time     // last inbox pruning

	deadRetention time.Duration // how long a dead letter is kept
	deadPruned    time.Time     // last dead-letter pruning
}

const relayBatch = 256

func newRelay(db *pgxdb.DB, pub message.Publisher, log *zap.Logger, m *metrics, cfg Config) *relay {
	r := &relay{db: db, pub: pub, log: log, metrics: m, batchSize: relayBatch, poll: cfg.RelayPoll,
		retention: cfg.InboxRetention, timeout: cfg.PublishTimeout, deadRetention: cfg.DeadLetterRetention,
		wake: make(chan struct{}, 1)}
	db.OnCommit(func() {
		select {
		case r.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	})
	return r
}

// run relays until ctx ends.
func (r *relay) run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := r.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			delay = 100 * time.Millisecond // it had been working: retry quickly
		}
		if errors.Is(err, context.DeadlineExceeded) {
			// A publish went unconfirmed (a broker under a memory or disk
			// alarm, a half-dead connection): the session ended, releasing
			// the leader lock. Stand back for two polls so another instance,
			// whose broker connection may be fine, can take the lock.
			delay = max(delay, 2*r.poll)
			r.log.Warn("outbox relay gave up its leader lock: the broker did not confirm a publish in time",
				zap.Error(err), zap.Duration("publish_timeout", r.timeout), zap.Duration("retry_in", delay))
		} else {
			r.log.Warn("outbox relay interrupted, restarting", zap.Error(err), zap.Duration("retry_in", delay))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// session holds one dedicated connection for LISTEN and leadership, and
// relays with the pool while it is the leader.
func (r *relay) session(ctx context.Context) error {
	conn, err := r.db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries a session-level lock and a LISTEN: take it out
	// of the pool so it is never reused, and close it to end both.
	own := conn.Hijack()
	defer func() { _ = own.Close(context.WithoutCancel(ctx)) }()

	channel := r.db.Schema + ".outbox"
	if _, err := own.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	leader := false
	for {
		if !leader {
			if err := own.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('shop.outbox.' || current_schema(), 0))`).Scan(&leader); err != nil {
				return err
			}
			if leader {
				r.log.Info("outbox relay is active")
			}
		}
		if leader {
			if err := r.drain(ctx); err != nil {
				return err
			}
			if err := r.pruneInbox(ctx); err != nil {
				return err
			}
			if err := r.pruneDeadLetters(ctx); err != nil {
				return err
			}
		}
		local, err := r.wait(ctx, own)
		if err != nil {
			return err
		}
		if local && !leader {
			// Another instance publishes: pass our commit's wake-up on.
			if _, err := own.Exec(ctx, `SELECT pg_notify($1, '')`, channel); err != nil {
				return err
			}
		}
	}
}

// wait blocks until a local commit, a notification or the poll interval,
// and reports whether a local commit woke it.
func (r *relay) wait(ctx context.Context, conn *pgx.Conn) (local bool, err error) {
	select {
	case <-r.wake:
		return true, nil
	default:
	}
	waitCtx, cancel := context.WithTimeout(ctx, r.poll)
	defer cancel()
	var woke atomic.Bool
	stop, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-r.wake:
			woke.Store(true)
			cancel() // interrupts the wait; the connection stays usable
		case <-stop:
		}
	}()
	_, err = conn.WaitForNotification(waitCtx)
	close(stop)
	<-exited // the helper may have taken a wake-up at the last moment: count it
	if err != nil && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		err = nil
	}
	return woke.Load(), err
}

// pruneInbox forgets processed message IDs older than the retention, at
// most once an hour; the schema's active relay does it so it runs once per
// module. Neither the outbox nor the broker redelivers that late.
func (r *relay) pruneInbox(ctx context.Context) error {
	if time.Since(r.pruned) < time.Hour {
		return nil
	}
	r.pruned = time.Now()
	tag, err := r.db.Pool.Exec(ctx, `DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1)`, r.retention.Seconds())
	if err == nil && tag.RowsAffected() > 0 {
		r.log.Info("pruned the inbox", zap.Int64("rows", tag.RowsAffected()), zap.Duration("older_than", r.retention))
	}
	return err
}

type pending struct {
	seq       int64
	id        string
	topic     string
	partition int
	body      []byte
	createdAt time.Time
	// traceparent is the envelope's, read by Postgres: the relay does
	// not decode envelopes.
	traceparent string
}

// drain publishes pending rows in insertion (seq) order until the outbox is
// empty. Events of one aggregate are inserted in the order their
// transactions commit because each transaction locks the aggregate's row.
func (r *relay) drain(ctx context.Context) error {
	for {
		rows, err := r.db.Pool.Query(ctx,
			`SELECT seq, id::text, topic, partition, envelope::text, created_at, coalesce(envelope->>'traceparent', '')
			FROM outbox ORDER BY seq LIMIT $1`, r.batchSize)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			var body string
			err := row.Scan(&p.seq, &p.id, &p.topic, &p.partition, &body, &p.createdAt, &p.traceparent)
			p.body = []byte(body)
			return p, err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		done, pubErr := r.publish(ctx, batch)
		if len(done) > 0 {
			// Deleting is what marks a row delivered. If this fails the rows
			// are published again later; consumers' inboxes absorb the repeat.
			if _, err := r.db.Pool.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, done); err != nil {
				return err
			}
			r.metrics.relayBatches.WithLabelValues(r.db.Module).Inc()
		}
		if pubErr != nil {
			return pubErr
		}
		if len(batch) < r.batchSize {
			return nil
		}
	}
}

// publish sends batch, each partition's events in order and the partitions
// in parallel, so a slow handler of one aggregate does not hold up the
// others. A partition stops at its first failure, so a later event of an
// aggregate never overtakes an earlier one. It returns the sequence numbers
// that were delivered.
func (r *relay) publish(ctx context.Context, batch []pending) ([]int64, error) {
	lanes := map[int][]pending{}
	for _, p := range batch {
		lanes[p.partition] = append(lanes[p.partition], p)
	}
	var mu sync.Mutex
	done := make([]int64, 0, len(batch))
	var errs []error
	var wg sync.WaitGroup
	for _, lane := range lanes {
		wg.Go(func() {
			delivered, err := r.publishLane(ctx, lane)
			mu.Lock()
			defer mu.Unlock()
			done = append(done, delivered...)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return done, errors.Join(errs...)
}

func (r *relay) publishLane(ctx context.Context, lane []pending) ([]int64, error) {
	done := make([]int64, 0, len(lane))
	for _, p := range lane {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		err := r.publishOne(ctx, p)
		if err != nil {
			r.metrics.relayFailures.WithLabelValues(r.db.Module).Inc()
			return done, fmt.Errorf("publish %s: %w", p.topic, err)
		}
		r.metrics.relayed.WithLabelValues(r.db.Module, p.topic).Inc()
		r.metrics.relayDelay.WithLabelValues(r.db.Module).Observe(time.Since(p.createdAt).Seconds())
		done = append(done, p.seq)
	}
	return done, nil
}

// publishOne publishes p in a span ("publish <event type>") that continues
// the trace of the transaction that wrote it (the envelope's traceparent).
// The message metadata carries the span's own traceparent, so each handler
// is a child of this publish.
func (r *relay) publishOne(ctx context.Context, p pending) (err error) {
	// ctx (the relay's loop) has no span: the event's parent is the
	// transaction that wrote it.
	sctx := telemetry.WithTraceparent(ctx, p.traceparent)
	sctx, span := tracer().Start(sctx, "publish "+p.topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(telemetry.Module(r.db.Module), attribute.String("messaging.destination.name", WireTopic(p.topic, p.partition)),
			attribute.String("messaging.message.id", p.id)))
	defer func() { telemetry.End(span, err) }()

	msg := message.NewMessage(p.id, p.body)
	if tp := telemetry.Traceparent(sctx); tp != "" {
		msg.Metadata.Set(telemetry.TraceparentHeader, tp)
	}
	pubCtx, cancel := context.WithTimeout(sctx, r.timeout)
	defer cancel()
	msg.SetContext(pubCtx)
	return r.pub.Publish(WireTopic(p.topic, p.partition), msg)
}

// OutboxDepth returns the number of events of db not yet delivered.
func OutboxDepth(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}
