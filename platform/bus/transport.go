package bus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// Transport is a message broker as the bus sees it: a publisher, and one
// subscriber per consumer (a consumer is a competing-consumers group: with
// RabbitMQ, one durable queue).
type Transport interface {
	message.Publisher
	// Subscriber returns the subscriber for the consumer called name.
	Subscriber(name string) (message.Subscriber, error)
	// Broadcast returns a subscriber that gets every message in this process
	// only (with RabbitMQ: a private queue that disappears with it).
	Broadcast(name string) (message.Subscriber, error)
	// Declare creates consumer queue and binds it to topic, as subscribing
	// would, without consuming: messages published from now on wait there.
	Declare(queue, topic string) error
	// Ping reports whether the broker is reachable.
	Ping(ctx context.Context) error
	// Driver names the transport: "gochannel" or "amqp".
	Driver() string
}

// goChannel is the in-process transport. Publish blocks until every
// subscriber acknowledged the message, so the relay deletes an outbox row
// only once its handlers have run (or dead-lettered it): a crash before that
// leaves the row in the outbox and it is published again.
type goChannel struct {
	*gochannel.GoChannel
	closed atomic.Bool
}

// NewGoChannel returns the in-process transport.
func NewGoChannel(log watermill.LoggerAdapter) Transport {
	return &goChannel{GoChannel: gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, log)}
}

// Publish returns an error when the transport closed before the subscribers
// acknowledged (GoChannel itself returns nil then), so the relay keeps the row.
func (g *goChannel) Publish(topic string, msgs ...*message.Message) error {
	if err := g.GoChannel.Publish(topic, msgs...); err != nil {
		return err
	}
	if g.closed.Load() {
		return errors.New("bus: in-process transport closed before delivery")
	}
	return nil
}

func (g *goChannel) Close() error {
	g.closed.Store(true)
	return g.GoChannel.Close()
}

func (g *goChannel) Subscriber(string) (message.Subscriber, error) { return g.GoChannel, nil }
func (g *goChannel) Broadcast(string) (message.Subscriber, error)  { return g.GoChannel, nil }
func (g *goChannel) Ping(context.Context) error                    { return nil }
func (g *goChannel) Declare(string, string) error                  { return nil }
func (g *goChannel) Driver() string                                { return "gochannel" }

// amqpTransport publishes to one durable fanout exchange per topic with
// publisher confirms; each consumer reads its own durable queue bound to it.
//
// Publishing and consuming use separate connections: under a memory or disk
// alarm RabbitMQ blocks the connections that publish, and consumers sharing
// one would stop draining the queues whose backlog raised the alarm.
type amqpTransport struct {
	url      string
	instance string                   // names this process's broadcast queues
	subConn  *wamqp.ConnectionWrapper // consumers'
	pub      *confirmPublisher        // on a connection of its own
	log      watermill.LoggerAdapter
}

// NewAMQP connects to RabbitMQ at url. The first connections are retried until
// ctx ends (Watermill reconnects by itself only after a first success; the
// publisher's connection redials on its next use).
func NewAMQP(ctx context.Context, url string, log watermill.LoggerAdapter) (Transport, error) {
	cfg := amqpConfig(url, "")
	pubConn := &amqpConn{url: url}
	if err := retryConnect(ctx, log, pubConn.ping); err != nil {
		return nil, err
	}
	var subConn *wamqp.ConnectionWrapper
	err := retryConnect(ctx, log, func(context.Context) (err error) {
		subConn, err = wamqp.NewConnection(cfg.Connection, log)
		return err
	})
	if err != nil {
		_ = pubConn.close()
		return nil, err
	}
	return &amqpTransport{url: url, instance: uuid.NewString()[:8], subConn: subConn,
		pub: newConfirmPublisher(pubConn, cfg), log: log}, nil
}

// retryConnect calls connect until it succeeds or ctx ends.
func retryConnect(ctx context.Context, log watermill.LoggerAdapter, connect func(context.Context) error) error {
	var cause error // the last failure that was not the deadline itself, which says why
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		err := connect(ctx)
		if err == nil {
			return nil
		}
		if cause == nil || ctx.Err() == nil {
			cause = err
		}
		// Its text only: the error's stack trace would bury the one line that matters.
		log.Info("cannot connect to RabbitMQ yet, retrying", watermill.LogFields{"retry_in": delay.String(), "error": err.Error()})
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: connect to RabbitMQ: %w", errors.Join(cause, ctx.Err()))
		case <-time.After(delay):
		}
	}
}

func amqpConfig(url, queue string) wamqp.Config {
	cfg := wamqp.NewDurablePubSubConfig(url, wamqp.GenerateQueueNameConstant(queue))
	// One consumer at a time reads a lane, whatever the number of instances
	// of the module: competing consumers would reorder an aggregate's events.
	// The others stand by and take over when it goes away.
	cfg.Queue.Arguments = amqp091.Table{"x-single-active-consumer": true}
	cfg.Connection.Reconnect = wamqp.DefaultReconnectConfig()
	cfg.Publish.ConfirmDelivery = true
	cfg.Publish.ChannelPoolSize = 4
	return cfg
}

// Publish returns once the broker confirmed every message, or fails at the
// first message's context deadline (DefaultConfirmTimeout without one).
func (a *amqpTransport) Publish(topic string, msgs ...*message.Message) error {
	return a.pub.Publish(topic, msgs...)
}

func (a *amqpTransport) Subscriber(name string) (message.Subscriber, error) {
	return wamqp.NewSubscriberWithConnection(amqpConfig(a.url, name), a.log, a.subConn)
}

// Declare declares queue bound to topic's exchange on the publisher's
// connection (the relay calls it before publishing), within
// DefaultConfirmTimeout: a stuck broker never answers a declaration.
func (a *amqpTransport) Declare(queue, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultConfirmTimeout)
	defer cancel()
	cfg := amqpConfig(a.url, queue)
	params := wamqp.BuildTopologyParams{Topic: topic, QueueName: cfg.Queue.GenerateName(topic),
		ExchangeName: cfg.Exchange.GenerateName(topic), RoutingKey: cfg.QueueBind.GenerateRoutingKey(topic)}
	ch, err := a.pub.conn.channel(ctx, func(ch *amqp091.Channel) error {
		return cfg.TopologyBuilder.BuildTopology(ch, params, cfg, a.log)
	})
	if err != nil {
		return fmt.Errorf("declare queue %s: %w", params.QueueName, err)
	}
	closeLater(ch)
	return nil
}

func (a *amqpTransport) Broadcast(name string) (message.Subscriber, error) {
	cfg := amqpConfig(a.url, name+"."+a.instance)
	cfg.Queue.Durable, cfg.Queue.AutoDelete, cfg.Queue.Exclusive = false, true, true
	cfg.Queue.Arguments = nil // private to this process: one consumer anyway
	return wamqp.NewSubscriberWithConnection(cfg, a.log, a.subConn)
}

// Ping reports whether the broker can be reached, through the publisher's
// connection (redialled if it closed). The consumers' connection reconnects
// by itself; Watermill gives no race-free way to read its state.
func (a *amqpTransport) Ping(ctx context.Context) error {
	return a.pub.conn.ping(ctx)
}

func (a *amqpTransport) Driver() string { return "amqp" }

func (a *amqpTransport) Close() error {
	return errors.Join(a.pub.Close(), a.subConn.Close())
}

// Drivers lists the transports NewTransport accepts.
var Drivers = []string{"gochannel", "amqp"}

// NewTransport returns the transport named by driver ("gochannel" or "amqp").
func NewTransport(ctx context.Context, driver, amqpURL string, log watermill.LoggerAdapter) (Transport, error) {
	switch driver {
	case "gochannel":
		return NewGoChannel(log), nil
	case "amqp":
		return NewAMQP(ctx, amqpURL, log)
	}
	return nil, fmt.Errorf("bus: unknown transport %q (want gochannel or amqp)", driver)
}
