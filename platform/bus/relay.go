package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/pgxdb"
)

// relay publishes one module's outbox. Every instance of the module runs one;
// the one holding the schema's advisory lock publishes, the others stand by
// and take over when its session ends.
type relay struct {
	db        *pgxdb.DB
	pub       message.Publisher
	log       *zap.Logger
	metrics   *metrics
	batchSize int
	poll      time.Duration // fallback wake-up when no notification comes
}

const (
	relayBatch     = 256
	publishTimeout = 10 * time.Second // one broker round trip with its confirm
)

// run relays until ctx ends.
func (r *relay) run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.session(ctx)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("outbox relay interrupted, restarting", zap.Error(err), zap.Duration("retry_in", delay))
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
	// The connection carries a session-level lock and a LISTEN: never return
	// it to the pool for reuse.
	defer func() { _ = conn.Conn().Close(context.WithoutCancel(ctx)); conn.Release() }()

	channel := pgx.Identifier{r.db.Schema + ".outbox"}.Sanitize()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	leader := false
	for {
		if !leader {
			if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('shop.outbox.' || current_schema(), 0))`).Scan(&leader); err != nil {
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
		}
		waitCtx, cancel := context.WithTimeout(ctx, r.poll)
		_, err := conn.Conn().WaitForNotification(waitCtx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

type pending struct {
	seq       int64
	id        string
	topic     string
	body      []byte
	createdAt time.Time
}

// drain publishes pending rows in commit order until the outbox is empty.
func (r *relay) drain(ctx context.Context) error {
	for {
		rows, err := r.db.Pool.Query(ctx,
			`SELECT seq, id::text, topic, envelope::text, created_at FROM outbox ORDER BY seq LIMIT $1`, r.batchSize)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			var body string
			err := row.Scan(&p.seq, &p.id, &p.topic, &body, &p.createdAt)
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
		}
		if pubErr != nil {
			return pubErr
		}
		if len(batch) < r.batchSize {
			return nil
		}
	}
}

// publish sends batch in order and stops at the first failure, so a later
// event of an aggregate never overtakes an earlier one. It returns the
// sequence numbers that were delivered.
func (r *relay) publish(ctx context.Context, batch []pending) ([]int64, error) {
	done := make([]int64, 0, len(batch))
	for _, p := range batch {
		msg := message.NewMessage(p.id, p.body)
		pubCtx, cancel := context.WithTimeout(ctx, publishTimeout)
		msg.SetContext(pubCtx)
		err := r.pub.Publish(p.topic, msg)
		cancel()
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

// OutboxDepth returns the number of events of db not yet delivered.
func OutboxDepth(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}
