package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// pinged is the benchmark's event.
type pinged struct {
	ID uuid.UUID `json:"id"`
	N  int       `json:"n"`
}

func (pinged) EventType() string     { return "bench.pinged" }
func (pinged) EventVersion() int     { return 1 }
func (e pinged) AggregateID() string { return e.ID.String() }

type busResult struct {
	driver         string
	events         int
	eventsPerSec   float64
	commitsPerEvt  float64
	latencyLight   latencies // commit -> handler, one event at a time
	latencyLoaded  latencies // commit -> handler, under the throughput load
	throughputTime time.Duration
}

// busBench measures outbox -> relay -> transport -> inbox+handler for one driver.
func busBench(ctx context.Context, dsn, driver, amqpURL string, concurrency, events int, log *zap.Logger) (busResult, error) {
	res := busResult{driver: driver, events: events}
	producer, err := pgxdb.Open(ctx, dsn, "bench_producer_"+driver, []pgxdb.MigrationSet{bus.Migrations(),
		{VersionTable: "schema_version", FS: fstest.MapFS{"001_none.sql": {Data: []byte(`SELECT 1;`)}}}}, log)
	if err != nil {
		return res, err
	}
	defer producer.Close()
	consumer, err := pgxdb.Open(ctx, dsn, "bench_consumer_"+driver, []pgxdb.MigrationSet{bus.Migrations(),
		{VersionTable: "schema_version", FS: fstest.MapFS{"001_seen.sql": {Data: []byte(`CREATE TABLE seen (id uuid PRIMARY KEY, n int NOT NULL);`)}}}}, log)
	if err != nil {
		return res, err
	}
	defer consumer.Close()

	var mu sync.Mutex
	handledAt := map[uuid.UUID]time.Time{}
	var handled atomic.Int64
	done := make(chan struct{}, 1)
	target := atomic.Int64{}

	tr, err := bus.NewTransport(ctx, driver, amqpURL, bus.WatermillLogger(log))
	if err != nil {
		return res, err
	}
	reg := prometheus.NewRegistry()
	b := bus.New(bus.Config{}, tr, log, reg)
	name := "bench_consumer_" + driver + ".record"
	if err := b.Subscribe(bus.Consumer{Name: name, Topic: "bench.pinged", DB: consumer,
		Handle: func(ctx context.Context, tx pgx.Tx, e bus.Envelope) error {
			now := time.Now()
			var ev pinged
			if err := e.DecodePayload(&ev); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO seen (id, n) VALUES ($1, $2)`, ev.ID, ev.N); err != nil {
				return err
			}
			mu.Lock()
			handledAt[ev.ID] = now
			mu.Unlock()
			if handled.Add(1) == target.Load() {
				done <- struct{}{}
			}
			return nil
		}}); err != nil {
		return res, err
	}
	b.Relay(producer)
	if err := b.Start(ctx); err != nil {
		return res, err
	}
	defer func() { _ = b.Stop(context.Background()) }()

	commitAt := func(ev pinged) (time.Time, error) {
		var at time.Time
		err := producer.Tx(ctx, func(tx pgx.Tx) error {
			if err := (bus.Outbox{}).Add(ctx, tx, ev); err != nil {
				return err
			}
			at = time.Now() // the commit is issued next; latency counts its fsync too
			return nil
		})
		return at, err
	}
	wait := func(n int64, timeout time.Duration) error {
		select {
		case <-done:
			return nil
		case <-time.After(timeout):
			return fmt.Errorf("%s: only %d of %d events handled after %s", driver, handled.Load(), n, timeout)
		}
	}

	// Light load: one event at a time, each waited for.
	const light = 300
	for i := range light {
		ev := pinged{ID: uuid.New(), N: i}
		target.Store(handled.Load() + 1)
		at, err := commitAt(ev)
		if err != nil {
			return res, err
		}
		if err := wait(1, 30*time.Second); err != nil {
			return res, err
		}
		mu.Lock()
		res.latencyLight = append(res.latencyLight, handledAt[ev.ID].Sub(at))
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}

	// Throughput: concurrency producers commit events as fast as they can.
	batchesBefore := counter(reg, "bus_outbox_batches_total")
	base := handled.Load()
	target.Store(base + int64(events))
	commits := make([]time.Time, events)
	ids := make([]uuid.UUID, events)
	var next atomic.Int64
	var wg sync.WaitGroup
	var prodErr error
	var errOnce sync.Once
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= events {
					return
				}
				ids[i] = uuid.New()
				at, err := commitAt(pinged{ID: ids[i], N: i})
				if err != nil {
					errOnce.Do(func() { prodErr = err })
					return
				}
				commits[i] = at
			}
		})
	}
	wg.Wait()
	if prodErr != nil {
		return res, prodErr
	}
	if err := wait(int64(events), 5*time.Minute); err != nil {
		return res, err
	}
	res.throughputTime = time.Since(start)
	res.eventsPerSec = float64(events) / res.throughputTime.Seconds()
	batches := counter(reg, "bus_outbox_batches_total") - batchesBefore
	// Durable commits per event: the producer's transaction, the handler's
	// transaction (inbox + effect), and the relay's batched DELETE.
	res.commitsPerEvt = 2 + batches/float64(events)
	mu.Lock()
	for i, id := range ids {
		res.latencyLoaded = append(res.latencyLoaded, handledAt[id].Sub(commits[i]))
	}
	mu.Unlock()
	return res, nil
}

func counter(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// sqlPath runs the statements one event costs — the producer's outbox
// insert in its transaction, then the consumer's inbox and effect in its
// transaction — directly, with no relay and no transport. It is the ceiling
// the bus can approach on this machine.
func sqlPath(ctx context.Context, dsn string, concurrency, events int, log *zap.Logger) (float64, error) {
	producer, err := pgxdb.Open(ctx, dsn, "bench_sql_producer", []pgxdb.MigrationSet{bus.Migrations(),
		{VersionTable: "schema_version", FS: fstest.MapFS{"001_none.sql": {Data: []byte(`SELECT 1;`)}}}}, log)
	if err != nil {
		return 0, err
	}
	defer producer.Close()
	consumer, err := pgxdb.Open(ctx, dsn, "bench_sql_consumer", []pgxdb.MigrationSet{bus.Migrations(),
		{VersionTable: "schema_version", FS: fstest.MapFS{"001_seen.sql": {Data: []byte(`CREATE TABLE seen (id uuid PRIMARY KEY, n int NOT NULL);`)}}}}, log)
	if err != nil {
		return 0, err
	}
	defer consumer.Close()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= events {
					return
				}
				ev := pinged{ID: uuid.New(), N: i}
				err := producer.Tx(ctx, func(tx pgx.Tx) error { return (bus.Outbox{}).Add(ctx, tx, ev) })
				if err == nil {
					err = consumer.Tx(ctx, func(tx pgx.Tx) error {
						if _, err := tx.Exec(ctx, `INSERT INTO inbox (handler, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, "bench.sql", ev.ID); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `INSERT INTO seen (id, n) VALUES ($1, $2)`, ev.ID, ev.N)
						return err
					})
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(events) / time.Since(start).Seconds(), firstErr
}
