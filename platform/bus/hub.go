package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"go.uber.org/zap"
)

// Hub shows every event published anywhere in the system to subscribers in
// this process: the admin event stream, the storefront's live order page.
//
// It taps the transport the way listeners do (Transport.Broadcast): with
// the in-process transport every event passes through this process anyway;
// with RabbitMQ the tap is a private, auto-deleted queue bound to every
// partition of every event type, so it sees what every process publishes.
// The tap is attached when the first subscriber arrives and detached when
// the last one leaves: a process nobody watches pays nothing.
//
// A hub never slows the bus. Each subscriber has a bounded buffer; an event
// that finds it full is dropped for that subscriber and counted (TakeDropped),
// never waited for. The tap acknowledges each message as soon as it is
// handed out, so neither a publisher nor a handler waits for a watcher.
//
// A Hub is safe for concurrent use.
type Hub struct {
	transport Transport
	topics    []string // wire topics: every partition of every event type
	buffer    int
	log       *zap.Logger

	// attaching serialises attaching and detaching the tap. It is never
	// held with mu while the transport is called: the in-process transport
	// subscribes under its own lock, which a publisher holds while it waits
	// for the tap's reader to take a message, and the reader needs mu.
	attaching sync.Mutex
	mu        sync.RWMutex // delivery holds it for reading, (un)subscribing for writing
	subs      map[*Watcher]struct{}
	tap       *hubTap // nil while nobody watches
	closed    bool
}

// HubOptions tune a Hub. Zero values take the defaults in the comments.
type HubOptions struct {
	Buffer int // events held per subscriber before it loses some; default 256
}

// NewHub returns a hub of the given event types (every type of the system)
// on transport. log may be nil.
func NewHub(transport Transport, eventTypes []string, opts HubOptions, log *zap.Logger) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	if log == nil {
		log = zap.NewNop()
	}
	var topics []string
	for _, t := range eventTypes {
		for p := range Partitions {
			topics = append(topics, WireTopic(t, p))
		}
	}
	return &Hub{transport: transport, topics: topics, buffer: opts.Buffer, log: log.Named("hub"),
		subs: map[*Watcher]struct{}{}}
}

// Filter selects the events a subscriber gets. The zero Filter selects all.
type Filter struct {
	TypePrefix    string // the event type starts with it, e.g. "ordering." or "payments.payment_"
	CorrelationID string // the event's correlation ID is exactly this
	AggregateID   string // the event is about this aggregate, e.g. an order's ID
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Envelope) bool {
	return strings.HasPrefix(e.Type, f.TypePrefix) && (f.CorrelationID == "" || e.CorrelationID == f.CorrelationID) &&
		(f.AggregateID == "" || e.AggregateID == f.AggregateID)
}

// Watcher is one subscriber's view of the hub.
type Watcher struct {
	// C delivers the events, in the order this process received them. It is
	// closed when the subscriber's context ends or the hub closes.
	C <-chan Envelope

	ch      chan Envelope
	filter  Filter
	dropped atomic.Uint64
}

// TakeDropped returns how many events this subscriber lost because its
// buffer was full since the previous call, and resets the count.
func (s *Watcher) TakeDropped() uint64 { return s.dropped.Swap(0) }

// ErrHubClosed is returned by Subscribe once the hub has been closed.
var ErrHubClosed = errors.New("bus: event hub closed")

// Subscribe adds a subscriber until ctx ends. The first subscriber attaches
// the tap; an error means it could not be attached (the broker is down).
func (h *Hub) Subscribe(ctx context.Context, f Filter) (*Watcher, error) {
	ch := make(chan Envelope, h.buffer)
	s := &Watcher{C: ch, ch: ch, filter: f}
	h.attaching.Lock()
	defer h.attaching.Unlock()
	h.mu.RLock()
	closed, attached := h.closed, h.tap != nil
	h.mu.RUnlock()
	if closed {
		return nil, ErrHubClosed
	}
	var tap *hubTap
	if !attached {
		// Attaching waits for a broker that is away; say so at once instead.
		if err := h.transport.Ping(ctx); err != nil {
			return nil, fmt.Errorf("bus: event hub: %w", err)
		}
		var err error
		if tap, err = h.attach(); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	if tap != nil {
		h.tap = tap
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() { h.unsubscribe(s) })
	return s, nil
}

// Subscribers returns the number of subscribers.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Close ends every subscription and detaches the tap. Calling it again does
// nothing.
func (h *Hub) Close() error {
	h.attaching.Lock()
	defer h.attaching.Unlock()
	h.mu.Lock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
	tap := h.detach()
	h.mu.Unlock()
	return h.stop(tap)
}

func (h *Hub) unsubscribe(s *Watcher) {
	h.attaching.Lock()
	defer h.attaching.Unlock()
	h.mu.Lock()
	if _, ok := h.subs[s]; !ok {
		h.mu.Unlock()
		return // the hub closed it already
	}
	delete(h.subs, s)
	close(s.ch)
	var tap *hubTap
	if len(h.subs) == 0 {
		tap = h.detach()
	}
	h.mu.Unlock()
	if err := h.stop(tap); err != nil {
		h.log.Warn("cannot detach the event hub's tap", zap.Error(err))
	}
}

// deliver hands e to every subscriber whose filter it passes, without ever
// waiting: a full buffer loses the event and counts it.
func (h *Hub) deliver(e Envelope) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if !s.filter.Match(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// hubTap is an attached tap: its subscriptions and the goroutines reading them.
type hubTap struct {
	cancel context.CancelFunc
	sub    message.Subscriber
}

// attach subscribes to every wire topic through a broadcast subscriber of a
// fresh name (so a queue of a previous tap that RabbitMQ has not deleted yet
// is never reused). Called with h.attaching held, never with h.mu.
func (h *Hub) attach() (*hubTap, error) {
	sub, err := h.transport.Broadcast("shop.event-hub." + uuid.NewString()[:8])
	if err != nil {
		return nil, fmt.Errorf("bus: event hub: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tap := &hubTap{cancel: cancel, sub: sub}
	// Each feed is read from the moment it exists: the in-process transport
	// makes a publisher wait for every subscriber to take its message, and
	// subscribing to the next topic waits for that publisher.
	if init, ok := sub.(message.SubscribeInitializer); ok && h.transport.Driver() == "amqp" && len(h.topics) > 1 {
		// One private queue holds every topic: bind it to all the topics'
		// exchanges, then consume it once rather than once per topic.
		for _, topic := range h.topics[1:] {
			if err := init.SubscribeInitialize(topic); err != nil {
				cancel()
				return nil, errors.Join(fmt.Errorf("bus: event hub: bind %s: %w", topic, err), sub.Close())
			}
		}
		feed, err := sub.Subscribe(ctx, h.topics[0])
		if err != nil {
			cancel()
			return nil, errors.Join(fmt.Errorf("bus: event hub: %w", err), sub.Close())
		}
		go h.read(feed) // ends when stop closes the feed
	} else {
		for _, topic := range h.topics {
			feed, err := sub.Subscribe(ctx, topic)
			if err != nil {
				cancel()
				return nil, fmt.Errorf("bus: event hub: subscribe %s: %w", topic, err)
			}
			go h.read(feed)
		}
	}
	h.log.Debug("event hub attached", zap.Int("topics", len(h.topics)))
	return tap, nil
}

// read hands each message of feed out and acknowledges it at once.
func (h *Hub) read(feed <-chan *message.Message) {
	for msg := range feed {
		if env, err := DecodeEnvelope(msg.Payload); err == nil {
			h.deliver(env)
		}
		msg.Ack()
	}
}

// detach takes the tap away, if any, for stop. Called with h.attaching and
// h.mu held.
func (h *Hub) detach() *hubTap {
	tap := h.tap
	h.tap = nil
	return tap
}

// stop ends a detached tap: its feeds close, and its readers end. Called
// without h.mu, since a reader may be waiting for it in deliver.
func (h *Hub) stop(tap *hubTap) error {
	if tap == nil {
		return nil
	}
	tap.cancel()
	var err error
	if h.transport.Driver() != "gochannel" {
		err = tap.sub.Close() // the in-process transport's subscriber is the transport itself
	}
	h.log.Debug("event hub detached")
	return err
}
