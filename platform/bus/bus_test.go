package bus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// noted is the test event: "something noted" about an aggregate.
type noted struct {
	topic string
	Key   string `json:"key"`
	N     int    `json:"n"`
}

func (e noted) EventType() string   { return e.topic }
func (e noted) EventVersion() int   { return 1 }
func (e noted) AggregateID() string { return e.Key }

var consumerTables = fstest.MapFS{"001_seen.sql": {Data: []byte(
	`CREATE TABLE seen (message_id uuid PRIMARY KEY, key text NOT NULL, n int NOT NULL, at bigint GENERATED ALWAYS AS IDENTITY);`)},
	// effects has no key, so that an effect applied twice shows as two rows.
	"002_effects.sql": {Data: []byte(
		`CREATE TABLE effects (consumer text NOT NULL, message_id uuid NOT NULL, key text NOT NULL, n int NOT NULL, at bigint GENERATED ALWAYS AS IDENTITY);`)}}
var producerTables = fstest.MapFS{"001_nothing.sql": {Data: []byte(`CREATE TABLE nothing (id int);`)}}

func amqpURL() string {
	if u := os.Getenv("AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// world is one test's producer and consumer modules in a fresh database.
type world struct {
	dsn        string
	producer   *pgxdb.DB
	consumer   *pgxdb.DB
	topic      string
	name       string
	driver     string
	failFirstN atomic.Int64          // handler attempts that fail before it succeeds; <0: always fail
	failWith   atomic.Pointer[error] // what a failing attempt returns; nil: a plain (content) error
	calls      atomic.Int64
	slow       chan struct{} // when set, the handler signals it started, then takes its time
	topology   []bus.Subscription
}

func newWorld(t *testing.T, driver string) *world {
	t.Helper()
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	w := &world{dsn: pgtest.NewDatabase(t), topic: "test.noted_" + suffix, name: "test.record_" + suffix, driver: driver}
	ctx := context.Background()
	var err error
	w.producer, err = pgxdb.Open(ctx, w.dsn, "producer", []pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: producerTables}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.producer.Close)
	w.consumer, err = pgxdb.Open(ctx, w.dsn, "consumer", []pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: consumerTables}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.consumer.Close)
	if driver == "amqp" {
		t.Cleanup(func() { deleteAMQP(t, w.topic, w.name) })
	}
	return w
}

func (w *world) consumerSpec() bus.Consumer {
	return bus.Consumer{Name: w.name, Topic: w.topic, DB: w.consumer, Handle: func(ctx context.Context, tx pgx.Tx, e bus.Envelope) error {
		w.calls.Add(1)
		if w.slow != nil {
			w.slow <- struct{}{}
			time.Sleep(300 * time.Millisecond)
		}
		if f := w.failFirstN.Load(); f < 0 || (f > 0 && w.failFirstN.Add(-1) >= 0) {
			if err := w.failWith.Load(); err != nil {
				return *err
			}
			return errors.New("handler says no")
		}
		var ev noted
		if err := e.DecodePayload(&ev); err != nil {
			return err
		}
		if ev.N < 0 {
			return fmt.Errorf("%w: negative n", bus.ErrMalformed)
		}
		_, err := tx.Exec(ctx, `INSERT INTO seen (message_id, key, n) VALUES ($1, $2, $3)`, e.ID, ev.Key, ev.N)
		return err
	}}
}

// startBus starts a bus relaying the producer and, when consume is set, running the consumer.
func (w *world) startBus(t *testing.T, consume bool, reg prometheus.Registerer) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := zaptest.NewLogger(t)
	tr, err := bus.NewTransport(ctx, w.driver, amqpURL(), bus.WatermillLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	b := bus.New(bus.Config{MaxRetries: 2, RetryInitial: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Topology: w.topology}, tr, log, reg)
	if consume {
		if err := b.Subscribe(w.consumerSpec()); err != nil {
			t.Fatal(err)
		}
	}
	b.Relay(w.producer)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("stop bus: %v", err)
		}
	})
	return b
}

// emit commits events through the producer's outbox.
func (w *world) emit(t *testing.T, key string, ns ...int) {
	t.Helper()
	ctx := context.Background()
	err := w.producer.Tx(ctx, func(tx pgx.Tx) error {
		for _, n := range ns {
			if err := (bus.Outbox{}).Add(ctx, tx, noted{topic: w.topic, Key: key, N: n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) seen(t *testing.T) []int {
	t.Helper()
	rows, err := w.consumer.Pool.Query(context.Background(), `SELECT n FROM seen ORDER BY at`)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// waitFor polls cond until it holds or the (generous) deadline passes. It
// waits for an outcome; it does not measure speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitDeadLetter waits until b holds one dead letter and returns it.
func awaitDeadLetter(t *testing.T, b *bus.Bus) []bus.DeadLetter {
	t.Helper()
	var dl []bus.DeadLetter
	waitFor(t, "a dead letter", func() bool {
		var err error
		dl, err = b.DeadLetters(context.Background(), 10)
		return err == nil && len(dl) == 1
	})
	return dl
}

func forEachDriver(t *testing.T, f func(t *testing.T, driver string)) {
	for _, d := range bus.Drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

func TestDeliversEachAggregateInOrder(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.startBus(t, true, nil)
		const perAggregate, aggregates = 40, 5
		for i := range perAggregate {
			for a := range aggregates {
				w.emit(t, fmt.Sprintf("agg-%d", a), a*1000+i)
			}
		}
		waitFor(t, "every event", func() bool { return len(w.seen(t)) == perAggregate*aggregates })
		last := map[int]int{}
		for _, n := range w.seen(t) {
			a, i := n/1000, n%1000
			if prev, ok := last[a]; ok && i != prev+1 {
				t.Fatalf("aggregate %d: event %d handled after %d", a, i, prev)
			}
			last[a] = i
		}
		// The relay deletes a batch once all of it is published, which
		// may be after the handlers are done with it.
		waitFor(t, "the outbox to empty", func() bool {
			n, err := bus.OutboxDepth(context.Background(), w.producer.Pool)
			return err == nil && n == 0
		})
	})
}

// Stopping the bus lets a running handler finish and commit.
func TestStopDrainsRunningHandlers(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.slow = make(chan struct{}, 1)
		b := w.startBus(t, true, nil)
		w.emit(t, "k", 1)
		<-w.slow
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if got := w.seen(t); len(got) != 1 {
			t.Fatalf("after stop the effect is %v", got)
		}
	})
}

func TestRolledBackEventIsNeverPublished(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.startBus(t, true, nil)
		ctx := context.Background()
		tx, err := w.producer.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := (bus.Outbox{}).Add(ctx, tx, noted{topic: w.topic, Key: "a", N: -1}); err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback(ctx)
		w.emit(t, "a", 1) // a committed marker after it
		waitFor(t, "the committed event", func() bool { return len(w.seen(t)) == 1 })
		if got := w.seen(t); got[0] != 1 {
			t.Fatalf("saw %v", got)
		}
	})
}

func TestRedeliveredMessageHasItsEffectOnce(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		reg := prometheus.NewRegistry()
		b := w.startBus(t, true, reg)
		env, err := bus.NewEnvelope(context.Background(), noted{topic: w.topic, Key: "k", N: 7}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(env)
		for range 3 { // the same message ID, three times, as a redelivering broker would
			if err := b.Transport().Publish(bus.WireTopic(w.topic, bus.Partition("k")), message.NewMessage(env.ID.String(), body)); err != nil {
				t.Fatal(err)
			}
		}
		dup := func() float64 {
			return testutil.ToFloat64(mustCounter(t, reg, "bus_handler_messages_total", w.name, "duplicate"))
		}
		waitFor(t, "two duplicates skipped", func() bool { return dup() == 2 })
		if got := w.seen(t); len(got) != 1 || w.calls.Load() != 1 {
			t.Fatalf("effects %v after %d handler calls, want one", got, w.calls.Load())
		}
	})
}

func TestFailingHandlerIsRetriedThenDeadLetteredAndReplayed(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.failFirstN.Store(-1) // broken handler
		b := w.startBus(t, true, nil)
		w.emit(t, "k", 42)
		ctx := context.Background()
		dl := awaitDeadLetter(t, b)
		// MaxRetries is 2: the first attempt plus two retries.
		if dl[0].Attempts != 3 || w.calls.Load() != 3 {
			t.Fatalf("attempts: stored %d, handler called %d times; want 3", dl[0].Attempts, w.calls.Load())
		}
		if dl[0].Handler != w.name || dl[0].Module != "consumer" || !strings.Contains(dl[0].Error, "handler says no") {
			t.Fatalf("dead letter: %+v", dl[0])
		}
		if err := b.Replay(ctx, dl[0].ID); err == nil {
			t.Fatal("replay with the handler still broken succeeded")
		}
		w.failFirstN.Store(0) // fixed
		if err := b.Replay(ctx, dl[0].ID); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if got := w.seen(t); fmt.Sprint(got) != "[42]" {
			t.Fatalf("after replay saw %v", got)
		}
		if dl, _ := b.DeadLetters(ctx, 10); len(dl) != 0 {
			t.Fatalf("dead letter kept after a successful replay: %+v", dl)
		}
		if err := b.Replay(ctx, dl[0].ID); !errors.Is(err, bus.ErrDeadLetterNotFound) {
			t.Fatalf("second replay: %v", err)
		}
	})
}

func TestTransientFailureIsRetriedWithoutDeadLetter(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.failFirstN.Store(2)
		b := w.startBus(t, true, nil)
		w.emit(t, "k", 1)
		waitFor(t, "the effect", func() bool { return len(w.seen(t)) == 1 })
		if dl, _ := b.DeadLetters(context.Background(), 10); len(dl) != 0 || w.calls.Load() != 3 {
			t.Fatalf("dead letters %v, calls %d", dl, w.calls.Load())
		}
	})
}

func TestMalformedMessageIsDeadLetteredWithoutRetry(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		b := w.startBus(t, true, nil)
		if err := b.Transport().Publish(bus.WireTopic(w.topic, 0), message.NewMessage(uuid.NewString(), []byte("{not json"))); err != nil {
			t.Fatal(err)
		}
		var dl []bus.DeadLetter
		waitFor(t, "a dead letter", func() bool { dl, _ = b.DeadLetters(context.Background(), 10); return len(dl) == 1 })
		if dl[0].Attempts != 1 || w.calls.Load() != 0 || dl[0].Raw != "{not json" {
			t.Fatalf("dead letter %+v after %d calls", dl[0], w.calls.Load())
		}
	})
}

// A listener hears every event in every process; a consumer's event is
// handled in one of them.
func TestListenersHearEveryEventInEveryProcess(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "amqp")
	var heard [2]atomic.Int64
	for i := range heard {
		ctx := context.Background()
		log := zaptest.NewLogger(t)
		tr, err := bus.NewTransport(ctx, "amqp", amqpURL(), bus.WatermillLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		b := bus.New(bus.Config{}, tr, log, nil)
		if err := b.Listen(bus.Listener{Name: w.name + "_listener", Topic: w.topic, Handle: func(context.Context, bus.Envelope) error {
			heard[i].Add(1)
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			b.Relay(w.producer)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Stop(context.Background()) })
	}
	for i := range 5 {
		w.emit(t, fmt.Sprintf("k%d", i), i)
	}
	waitFor(t, "both processes to hear 5 events", func() bool { return heard[0].Load() == 5 && heard[1].Load() == 5 })
}

// A handler that reports its message malformed is not retried.
func TestPermanentHandlerErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		b := w.startBus(t, true, nil)
		w.emit(t, "k", -1)
		var dl []bus.DeadLetter
		waitFor(t, "a dead letter", func() bool { dl, _ = b.DeadLetters(context.Background(), 10); return len(dl) == 1 })
		if dl[0].Attempts != 1 || w.calls.Load() != 1 || !strings.Contains(dl[0].Error, "negative n") {
			t.Fatalf("dead letter %+v after %d calls", dl[0], w.calls.Load())
		}
	})
}

// Two relays over one outbox (two instances of a module) publish each event once.
// Events published while their consumer's process is not running wait in
// its queue: the producer's bus declares every consumer of the topology
// before relaying (RabbitMQ drops what no queue is bound to).
func TestEventsWaitForAConsumerThatIsNotRunning(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "amqp")
	w.topology = []bus.Subscription{{Consumer: w.name, Topic: w.topic}}
	w.startBus(t, false, nil) // the producer's process only
	for i := range 20 {
		w.emit(t, fmt.Sprintf("agg-%d", i%3), i)
	}
	waitFor(t, "the outbox to be relayed", func() bool {
		var n int
		if err := w.producer.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	w.startBus(t, true, nil) // the consumer's process starts later
	waitFor(t, "20 events", func() bool { return len(w.seen(t)) == 20 })
}

// The topology lists every durable consumer: one missing from it is refused.
func TestConsumerOutsideTheTopologyIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "gochannel")
	b := bus.New(bus.Config{Topology: []bus.Subscription{{Consumer: "other.consumer", Topic: w.topic}}}, bus.NewGoChannel(bus.WatermillLogger(zaptest.NewLogger(t))), nil, nil)
	if err := b.Subscribe(w.consumerSpec()); err == nil || !strings.Contains(err.Error(), "topology") {
		t.Fatalf("subscribe: %v", err)
	}
}

func TestTwoRelaysPublishEachEventOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "amqp")
	reg := prometheus.NewRegistry()
	w.startBus(t, true, reg)
	w.startBus(t, false, nil) // a second instance: relay only
	for i := range 100 {
		w.emit(t, fmt.Sprintf("agg-%d", i%7), i)
	}
	waitFor(t, "100 events", func() bool { return len(w.seen(t)) == 100 })
	time.Sleep(200 * time.Millisecond) // let a would-be duplicate arrive before counting
	if d := testutil.ToFloat64(mustCounter(t, reg, "bus_handler_messages_total", w.name, "duplicate")); d != 0 {
		t.Fatalf("%v duplicate deliveries", d)
	}
}

// A committed event survives the death of its process before the relay ran:
// a child process commits and is killed with SIGKILL; a new process relays.
func TestCommittedEventSurvivesKill(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCommitAndHang$")
		cmd.Env = append(os.Environ(), "BUS_HELPER_DSN="+w.dsn, "BUS_HELPER_TOPIC="+w.topic)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "committed" {
			t.Fatalf("helper said %q, %v", line, err)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if n, _ := bus.OutboxDepth(context.Background(), w.producer.Pool); n != 3 {
			t.Fatalf("outbox holds %d rows after the kill, want 3", n)
		}
		w.startBus(t, true, nil) // the restart
		waitFor(t, "the 3 events", func() bool { return len(w.seen(t)) == 3 })
	})
}

// TestHelperCommitAndHang is the child of TestCommittedEventSurvivesKill.
func TestHelperCommitAndHang(t *testing.T) {
	dsn := os.Getenv("BUS_HELPER_DSN")
	if dsn == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, dsn, "producer", []pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: producerTables}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for i := range 3 {
			if err := (bus.Outbox{}).Add(ctx, tx, noted{topic: os.Getenv("BUS_HELPER_TOPIC"), Key: "k", N: i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("committed")
	select {} // wait for SIGKILL
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	return counterView{reg: reg, name: name, labels: labels}
}

// counterView reads one labelled counter from a registry (0 when absent).
type counterView struct {
	reg    *prometheus.Registry
	name   string
	labels []string
}

func (c counterView) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc(c.name+"_view", "view", nil, nil)
}

func (c counterView) Collect(ch chan<- prometheus.Metric) {
	v := 0.0
	mfs, _ := c.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != c.name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i, lp := range m.GetLabel() {
				if i >= len(c.labels) || lp.GetValue() != c.labels[i] {
					continue metric
				}
			}
			v = m.GetCounter().GetValue()
		}
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(c.name+"_view", "view", nil, nil), prometheus.CounterValue, v)
}

func deleteAMQP(t *testing.T, topic, queue string) {
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for p := range bus.Partitions {
		_, _ = ch.QueueDelete(fmt.Sprintf("%s.p%d", queue, p), false, false, false)
		_ = ch.ExchangeDelete(bus.WireTopic(topic, p), false, false)
	}
}

// Replaying a dead letter whose message was handled meanwhile (a redelivery
// that succeeded) applies nothing and still removes the dead letter.
func TestReplayOfAMessageHandledMeanwhileRemovesTheDeadLetter(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.failFirstN.Store(-1)
		b := w.startBus(t, true, nil)
		w.emit(t, "k", 5)
		ctx := context.Background()
		dl := awaitDeadLetter(t, b)
		w.failFirstN.Store(0)
		if _, err := w.consumer.Pool.Exec(ctx, `INSERT INTO inbox (handler, message_id) VALUES ($1, $2)`, w.name, dl[0].MessageID); err != nil {
			t.Fatal(err)
		}
		if err := b.Replay(ctx, dl[0].ID); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if got := w.seen(t); len(got) != 0 {
			t.Fatalf("a message handled before was applied again: %v", got)
		}
		if dl, _ := b.DeadLetters(ctx, 10); len(dl) != 0 {
			t.Fatalf("dead letter kept: %+v", dl)
		}
	})
}
