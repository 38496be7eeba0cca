package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// ErrNotConfirmed is returned by an AMQP publish that did not get its confirm
// (or could not even start) before its deadline: the broker may or may not
// have the message, so the relay keeps the outbox row and publishes it again
// later (consumers' inboxes absorb a repeat).
var ErrNotConfirmed = errors.New("bus: RabbitMQ did not confirm the publish in time")

// DefaultConfirmTimeout bounds a publish and its confirm when the message's
// context has no deadline of its own.
const DefaultConfirmTimeout = 10 * time.Second

// confirmPublisher publishes in confirm mode and waits for each confirm no
// longer than the message's context allows. Watermill's AMQP publisher
// checks the context only before sending and then waits for the confirm
// without a deadline, so a broker that stops confirming (a memory or disk
// alarm blocks publishers) would hang the relay, and its outbox leader lock
// with it.
type confirmPublisher struct {
	conn *amqpConn // its own: RabbitMQ blocks publishing connections under an alarm
	cfg  wamqp.Config
	// slots bounds concurrent publishes to cfg.Publish.ChannelPoolSize and
	// keeps their confirm-mode channels between publishes: each slot holds
	// an open channel, or nil until one is needed.
	slots    chan *amqp091.Channel
	mu       sync.Mutex
	declared map[string]bool // exchanges declared (durable: they outlive reconnects)
	closed   atomic.Bool
}

func newConfirmPublisher(conn *amqpConn, cfg wamqp.Config) *confirmPublisher {
	p := &confirmPublisher{conn: conn, cfg: cfg, slots: make(chan *amqp091.Channel, max(cfg.Publish.ChannelPoolSize, 1)),
		declared: map[string]bool{}}
	for range cap(p.slots) {
		p.slots <- nil
	}
	return p
}

// withDeadline returns ctx bounded by DefaultConfirmTimeout when it has no
// deadline of its own.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultConfirmTimeout)
}

// Publish publishes msgs to topic's exchange in order, each confirmed by the
// broker within its context's deadline (DefaultConfirmTimeout when it has
// none). It stops at the first failure.
func (p *confirmPublisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return errors.New("bus: AMQP publisher closed")
	}
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := withDeadline(msgs[0].Context())
	defer cancel()
	var ch *amqp091.Channel
	select {
	case ch = <-p.slots:
	case <-ctx.Done():
		return fmt.Errorf("%w: every AMQP channel is busy: %w", ErrNotConfirmed, ctx.Err())
	}
	if ch == nil || ch.IsClosed() { // closed by a reconnect or a channel error
		var err error
		if ch, err = p.open(ctx); err != nil {
			p.slots <- nil
			return fmt.Errorf("bus: open an AMQP channel: %w", err)
		}
	}
	for _, msg := range msgs {
		if err := p.publishOne(ch, topic, msg); err != nil {
			p.discard(ch)
			p.slots <- nil
			return err
		}
	}
	p.slots <- ch
	return nil
}

func (p *confirmPublisher) publishOne(ch *amqp091.Channel, topic string, msg *message.Message) error {
	ctx, cancel := withDeadline(msg.Context())
	defer cancel()
	exchange := p.cfg.Exchange.GenerateName(topic)
	if err := p.declare(ctx, ch, exchange); err != nil {
		return err
	}
	publishing, err := p.cfg.Marshaler.Marshal(msg)
	if err != nil {
		return fmt.Errorf("bus: marshal message %s: %w", msg.UUID, err)
	}
	confirm, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, p.cfg.Publish.GenerateRoutingKey(topic),
		p.cfg.Publish.Mandatory, p.cfg.Publish.Immediate, publishing)
	if err != nil {
		return fmt.Errorf("bus: publish message %s: %w", msg.UUID, err)
	}
	acked, err := confirm.WaitContext(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%w (message %s): %w", ErrNotConfirmed, msg.UUID, err)
	case !acked:
		return fmt.Errorf("bus: RabbitMQ refused message %s (nack, or its channel closed)", msg.UUID)
	}
	return nil
}

// declare declares exchange once, within ctx: the declaration waits for the
// broker's answer, which a stuck broker never sends.
func (p *confirmPublisher) declare(ctx context.Context, ch *amqp091.Channel, exchange string) error {
	p.mu.Lock()
	done := p.declared[exchange]
	p.mu.Unlock()
	if done || exchange == "" {
		return nil
	}
	result := make(chan error, 1)
	go func() { result <- p.cfg.TopologyBuilder.ExchangeDeclare(ch, exchange, p.cfg) }()
	select {
	case err := <-result:
		if err != nil {
			return fmt.Errorf("bus: declare exchange %s: %w", exchange, err)
		}
	case <-ctx.Done():
		return fmt.Errorf("bus: declare exchange %s: %w", exchange, ctx.Err())
	}
	p.mu.Lock()
	p.declared[exchange] = true
	p.mu.Unlock()
	return nil
}

// open opens a channel in confirm mode within ctx: opening waits for the
// broker's answer, which a stuck broker never sends (a channel that opens
// too late is closed).
func (p *confirmPublisher) open(ctx context.Context) (*amqp091.Channel, error) {
	return p.conn.channel(ctx, func(ch *amqp091.Channel) error { return ch.Confirm(false) })
}

// discard closes a channel that is not to be reused: a channel whose
// publish failed might still get a late confirm, never to be taken for
// another message's.
func (p *confirmPublisher) discard(ch *amqp091.Channel) { closeLater(ch) }

// Close closes the idle channels and the connection.
func (p *confirmPublisher) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	for {
		select {
		case ch := <-p.slots:
			if ch != nil {
				p.discard(ch)
			}
		default:
			return p.conn.close()
		}
	}
}
