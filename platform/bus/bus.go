package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/modmono/shop/platform/pgxdb"
)

// Config tunes the bus. Zero values take the defaults in the comments.
type Config struct {
	MaxRetries   int           // retries of a content failure before dead-lettering; default 5 (transient failures retry without limit)
	RetryInitial time.Duration // first backoff; default 100ms
	RetryMax     time.Duration // backoff cap; default 5s
	// TransientLogEvery spaces the log lines of one message failing
	// transiently again and again; default 30s.
	TransientLogEvery time.Duration
	HandlerTimeout    time.Duration // one attempt; default 30s
	RelayPoll         time.Duration // relay wake-up when no NOTIFY arrives; default 1s
	CloseTimeout      time.Duration // how long Stop waits for running handlers; default 10s
	InboxRetention    time.Duration // how long processed message IDs are kept; default 7 days
	PublishTimeout    time.Duration // one relay publish with its broker confirm; default 10s
	// DeadLetterRetention is how long a dead letter is kept for inspection
	// and replay before the relay deletes it; default 30 days.
	DeadLetterRetention time.Duration

	// Topology lists every durable consumer of the whole system, including
	// those of modules running elsewhere. When set, a relay declares the
	// queues of a topic's consumers before it first publishes to the topic
	// (RabbitMQ drops a message no queue is bound to), and Subscribe refuses
	// a consumer missing from it.
	Topology []Subscription
}

// Subscription names a durable consumer and the event type it reads.
type Subscription struct {
	Consumer string
	Topic    string
}

func (c *Config) setDefaults() {
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.RetryInitial == 0 {
		c.RetryInitial = 100 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Second
	}
	if c.TransientLogEvery == 0 {
		c.TransientLogEvery = 30 * time.Second
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = 30 * time.Second
	}
	if c.RelayPoll == 0 {
		c.RelayPoll = time.Second
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 10 * time.Second
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultConfirmTimeout
	}
	if c.InboxRetention == 0 {
		c.InboxRetention = 7 * 24 * time.Hour
	}
	if c.DeadLetterRetention == 0 {
		c.DeadLetterRetention = 30 * 24 * time.Hour
	}
}

// Bus runs the consumers and outbox relays of the modules in this process.
// Register everything with Subscribe and Relay, then Start; Stop drains.
type Bus struct {
	cfg       Config
	log       *zap.Logger
	wlog      watermill.LoggerAdapter
	metrics   *metrics
	transport Transport

	mu        sync.Mutex
	consumers map[string]Consumer
	listeners []Listener
	sources   []*pgxdb.DB
	started   bool
	stopped   bool
	stopping  chan struct{} // closed when Stop begins: retry loops give up their message

	router      *message.Router
	routerDone  chan error
	stopRelays  context.CancelFunc
	relaysGroup sync.WaitGroup
}

// New returns a bus over transport. reg may be nil (no metrics exported).
func New(cfg Config, transport Transport, log *zap.Logger, reg prometheus.Registerer) *Bus {
	cfg.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("bus")
	if reg != nil && transport != nil {
		reg.MustRegister(newBrokerUp(transport))
	}
	return &Bus{cfg: cfg, log: log, wlog: WatermillLogger(log), metrics: newMetrics(reg),
		transport: transport, consumers: map[string]Consumer{}, stopping: make(chan struct{})}
}

// WatermillLogger adapts zap for Watermill; Watermill's chatty info lines become debug.
func WatermillLogger(log *zap.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(slog.New(zapslog.NewHandler(log.Core())),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}

// Transport returns the transport the bus publishes on.
func (b *Bus) Transport() Transport { return b.transport }

// Subscribe registers consumers. It must be called before Start.
func (b *Bus) Subscribe(consumers ...Consumer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("bus: Subscribe after Start")
	}
	for _, c := range consumers {
		if err := c.validate(); err != nil {
			return fmt.Errorf("bus: %w", err)
		}
		if len(b.cfg.Topology) > 0 && !slices.Contains(b.cfg.Topology, Subscription{Consumer: c.Name, Topic: c.Topic}) {
			return fmt.Errorf("bus: consumer %s of %s is not in the system's topology: add it to internal/surfaces", c.Name, c.Topic)
		}
		if _, dup := b.consumers[c.Name]; dup {
			return fmt.Errorf("bus: consumer %s registered twice", c.Name)
		}
		b.consumers[c.Name] = c
		for _, outcome := range []string{"ok", "duplicate", "error", "dead_lettered"} {
			b.metrics.handled.WithLabelValues(c.Name, outcome) // present from the start, at 0
		}
		b.metrics.deadLettered.WithLabelValues(c.Name)
		b.metrics.transientRetries.WithLabelValues(c.Name)
	}
	return nil
}

// Listen registers a listener. It must be called before Start.
func (b *Bus) Listen(l Listener) error {
	if !validName.MatchString(l.Name) || !validName.MatchString(l.Topic) || l.Handle == nil {
		return fmt.Errorf("bus: listener %q: name, topic and Handle are required", l.Name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("bus: Listen after Start")
	}
	b.listeners = append(b.listeners, l)
	return nil
}

// Relay registers a module database whose outbox this process relays.
func (b *Bus) Relay(db *pgxdb.DB) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sources = append(b.sources, db)
	b.metrics.stores.add(db)
	// Present from the start, at 0, so a rate or an alert sees them.
	b.metrics.relayFailures.WithLabelValues(db.Module)
	b.metrics.relayBatches.WithLabelValues(db.Module)
	b.metrics.deadPruned.WithLabelValues(db.Module)
}

// Start subscribes every consumer, waits until they are receiving, and only
// then starts the relays: the in-process transport drops messages published
// while nobody listens.
func (b *Bus) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("bus: started twice")
	}
	b.started = true
	if len(b.consumers)+len(b.listeners) > 0 {
		router, err := message.NewRouter(message.RouterConfig{CloseTimeout: b.cfg.CloseTimeout}, b.wlog)
		if err != nil {
			return err
		}
		for _, c := range b.consumers {
			// One subscription per partition: each is an ordered lane (a
			// RabbitMQ queue), and lanes are handled in parallel.
			handle := b.handlerFunc(c)
			for p := range Partitions {
				lane := laneName(c.Name, p)
				sub, err := b.transport.Subscriber(lane)
				if err != nil {
					return fmt.Errorf("bus: subscriber for %s: %w", lane, err)
				}
				router.AddConsumerHandler(lane, WireTopic(c.Topic, p), sub, handle)
			}
		}
		for _, l := range b.listeners {
			handle := b.listenerFunc(l)
			for p := range Partitions {
				lane := laneName(l.Name, p)
				sub, err := b.transport.Broadcast(lane)
				if err != nil {
					return fmt.Errorf("bus: subscriber for %s: %w", lane, err)
				}
				router.AddConsumerHandler(lane, WireTopic(l.Topic, p), sub, handle)
			}
		}
		b.router, b.routerDone = router, make(chan error, 1)
		go func() { b.routerDone <- router.Run(context.Background()) }()
		select {
		case <-router.Running():
		case err := <-b.routerDone:
			return fmt.Errorf("bus: router stopped at start: %w", err)
		case <-ctx.Done():
			_ = router.Close()
			return ctx.Err()
		}
	}
	var pub message.Publisher = b.transport
	if len(b.cfg.Topology) > 0 {
		pub = newDeclaringPublisher(b.transport, b.cfg.Topology)
	}
	relayCtx, cancel := context.WithCancel(context.Background())
	b.stopRelays = cancel
	for _, db := range b.sources {
		r := newRelay(db, pub, b.log.With(zap.String("module", db.Module)), b.metrics, b.cfg)
		b.relaysGroup.Go(func() { r.run(relayCtx) })
	}
	b.log.Info("bus started", zap.String("transport", b.transport.Driver()),
		zap.Int("consumers", len(b.consumers)), zap.Int("relays", len(b.sources)))
	return nil
}

// declaringPublisher declares the queues of a wire topic's durable
// consumers (from the topology) before it first publishes to that topic, so
// what the relays publish waits for consumers whose process is not running
// (RabbitMQ drops a message no queue is bound to). Only the topics this
// process publishes are declared, once each.
type declaringPublisher struct {
	Transport
	lanes    map[string][]string // wire topic -> the lanes of its consumers
	declared sync.Map            // wire topics done
}

func newDeclaringPublisher(t Transport, topology []Subscription) *declaringPublisher {
	d := &declaringPublisher{Transport: t, lanes: map[string][]string{}}
	for _, s := range topology {
		for p := range Partitions {
			topic := WireTopic(s.Topic, p)
			d.lanes[topic] = append(d.lanes[topic], laneName(s.Consumer, p))
		}
	}
	return d
}

func (d *declaringPublisher) Publish(topic string, msgs ...*message.Message) error {
	if _, done := d.declared.Load(topic); !done {
		for _, lane := range d.lanes[topic] {
			if err := d.Declare(lane, topic); err != nil {
				return fmt.Errorf("bus: declare the queue %s: %w", lane, err)
			}
		}
		d.declared.Store(topic, struct{}{}) // declaring twice in a race is harmless
	}
	return d.Transport.Publish(topic, msgs...)
}

// laneName names partition p of a consumer or listener: its queue with RabbitMQ.
func laneName(name string, p int) string { return name + ".p" + strconv.Itoa(p) }

// Stop stops the relays first (an in-flight publish completes), then the
// consumers (running handlers finish, up to CloseTimeout), then the
// transport. Calling it again does nothing.
func (b *Bus) Stop(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil
	}
	b.stopped = true
	close(b.stopping)
	if !b.started {
		return b.transport.Close()
	}
	b.stopRelays()
	relaysDone := make(chan struct{})
	go func() { b.relaysGroup.Wait(); close(relaysDone) }()
	select {
	case <-relaysDone:
	case <-ctx.Done():
		return fmt.Errorf("bus: relays did not stop: %w", ctx.Err())
	}
	var errs []error
	if b.router != nil {
		errs = append(errs, b.router.Close(), <-b.routerDone)
	}
	errs = append(errs, b.transport.Close())
	return errors.Join(errs...)
}

// Ping reports whether the transport is connected (readiness).
func (b *Bus) Ping(ctx context.Context) error { return b.transport.Ping(ctx) }

// consumerDBs returns the distinct module databases that have consumers here.
func (b *Bus) consumerDBs() []*pgxdb.DB {
	var dbs []*pgxdb.DB
	for _, c := range b.consumers {
		if !slices.Contains(dbs, c.DB) {
			dbs = append(dbs, c.DB)
		}
	}
	slices.SortFunc(dbs, func(a, b *pgxdb.DB) int { return strings.Compare(a.Module, b.Module) })
	return dbs
}

func sortNewestFirst(d []DeadLetter) {
	slices.SortStableFunc(d, func(a, b DeadLetter) int { return b.FailedAt.Compare(a.FailedAt) })
}
