package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/bus/bustest"
)

// faultSeed seeds a run's faults; the test logs it.
func faultSeed() uint64 { return uint64(time.Now().UnixNano()) }

// TestEffectsOnceUnderMessageFaults: with messages duplicated, delayed,
// reordered across lanes and redelivered after their ack, on either
// transport, three consumers (two of one event type, one of another) apply
// every event exactly once, each aggregate's events of one type in the order
// they were written, and nothing reaches the dead letters. The assertions
// are the same on both buses.
func TestEffectsOnceUnderMessageFaults(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		other := w.topic + "_other"
		consumers := []bus.Subscription{
			{Consumer: w.name + "_a", Topic: w.topic},
			{Consumer: w.name + "_b", Topic: w.topic},
			{Consumer: w.name + "_c", Topic: other},
		}
		if driver == "amqp" {
			for _, c := range consumers {
				t.Cleanup(func() { deleteAMQP(t, c.Topic, c.Consumer) })
			}
		}
		seed := faultSeed()
		t.Logf("fault seed %d", seed)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		log := zaptest.NewLogger(t)
		inner, err := bus.NewTransport(ctx, driver, amqpURL(), bus.WatermillLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		faulty := bustest.Inject(inner, bustest.Faults{Seed: seed, Duplicate: 0.2, Delay: 0.2, Reorder: 0.2,
			Redeliver: 0.2, MaxDelay: 50 * time.Millisecond})
		b := bus.New(bus.Config{MaxRetries: 2, RetryInitial: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond},
			faulty, log, nil)
		for _, c := range consumers {
			err := b.Subscribe(bus.Consumer{Name: c.Consumer, Topic: c.Topic, DB: w.consumer,
				Handle: func(ctx context.Context, tx pgx.Tx, e bus.Envelope) error {
					var ev noted
					if err := e.DecodePayload(&ev); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `INSERT INTO effects (consumer, message_id, key, n) VALUES ($1, $2, $3, $4)`,
						c.Consumer, e.ID, ev.Key, ev.N)
					return err
				}})
			if err != nil {
				t.Fatal(err)
			}
		}
		b.Relay(w.producer)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := b.Stop(ctx); err != nil {
				t.Errorf("stop bus: %v", err)
			}
		}
		t.Cleanup(stop)

		// Events of 6 aggregates, interleaved, one to three per transaction;
		// each of the first type has a twin of the other type.
		const aggregates, perAggregate = 6, 15
		for i := range perAggregate {
			for a := range aggregates {
				key := fmt.Sprintf("agg-%d", a)
				err := w.producer.Tx(ctx, func(tx pgx.Tx) error {
					return (bus.Outbox{}).Add(ctx, tx, noted{topic: w.topic, Key: key, N: i}, noted{topic: other, Key: key, N: i})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		want := aggregates * perAggregate * len(consumers)
		count := func() int {
			var n int
			if err := w.consumer.Pool.QueryRow(ctx, `SELECT count(DISTINCT (consumer, message_id)) FROM effects`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		waitFor(t, "every consumer to apply every event", func() bool { return count() == want })
		waitFor(t, "the outbox to empty", func() bool {
			n, err := bus.OutboxDepth(ctx, w.producer.Pool)
			return err == nil && n == 0
		})
		// Stopping drains the handlers: whatever was delivered twice has
		// been handled (or skipped) by now.
		stop()

		var total int
		if err := w.consumer.Pool.QueryRow(context.Background(), `SELECT count(*) FROM effects`).Scan(&total); err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Errorf("%d effects for %d distinct messages: some were applied twice", total, want)
		}
		rows, err := w.consumer.Pool.Query(context.Background(), `SELECT consumer, key, n FROM effects ORDER BY at`)
		if err != nil {
			t.Fatal(err)
		}
		type lane struct{ consumer, key string }
		last := map[lane]int{}
		for rows.Next() {
			var l lane
			var n int
			if err := rows.Scan(&l.consumer, &l.key, &n); err != nil {
				t.Fatal(err)
			}
			if prev, seen := last[l]; (seen && n != prev+1) || (!seen && n != 0) {
				t.Errorf("%s, %s: event %d applied after %d", l.consumer, l.key, n, prev)
			}
			last[l] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if dl, err := b.DeadLetters(context.Background(), 10); err != nil || len(dl) != 0 {
			t.Errorf("dead letters %+v (%v)", dl, err)
		}
		c := faulty.Counts()
		t.Logf("faults: %+v", c)
		if c.Duplicated == 0 || c.Delayed == 0 || c.Reordered == 0 || c.Redelivered == 0 {
			t.Errorf("a fault never struck, the test proved little: %+v", c)
		}
	})
}
