package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/bus"
)

// A publish whose confirm never comes gives up at its context's deadline
// (the relay's publish timeout), instead of hanging the relay while it holds
// the outbox's leader lock.
func TestPublishGivesUpWhenTheConfirmNeverComes(t *testing.T) {
	t.Parallel()
	proxy := amqptest.NewProxy(t, amqptest.NewVHost(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := bus.NewAMQP(ctx, proxy.URL, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Publish("confirm.test", message.NewMessage(uuid.NewString(), []byte("{}"))); err != nil {
		t.Fatalf("publish before the alarm: %v", err)
	}

	proxy.Hold(true)
	msg := message.NewMessage(uuid.NewString(), []byte("{}"))
	pubCtx, cancelPub := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelPub()
	msg.SetContext(pubCtx)
	done := make(chan error, 1)
	go func() { done <- tr.Publish("confirm.test", msg) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("publish without a confirm: %v, want the deadline exceeded", err)
		}
	case <-time.After(5 * time.Second):
		proxy.Hold(false)
		t.Fatal("publish still waiting for its confirm 5 s after its 300 ms deadline")
	}

	proxy.Hold(false)
	if err := tr.Publish("confirm.test", message.NewMessage(uuid.NewString(), []byte("{}"))); err != nil {
		t.Fatalf("publish once the broker answers again: %v", err)
	}
}

// Publishing and consuming use separate connections: RabbitMQ blocks a
// connection that publishes during a resource alarm, and consumers sharing
// it could then not drain the queues that would end the alarm.
func TestPublisherAndConsumersHaveTheirOwnConnections(t *testing.T) {
	t.Parallel()
	proxy := amqptest.NewProxy(t, amqptest.NewVHost(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := bus.NewAMQP(ctx, proxy.URL, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sub, err := tr.Subscriber("separate.consumer")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(ctx, "separate.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish("separate.test", message.NewMessage(uuid.NewString(), []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		m.Ack()
	case <-ctx.Done():
		t.Fatal("the message never arrived")
	}
	if n := proxy.Accepted(); n != 2 {
		t.Fatalf("%d connections to the broker, want 2 (one to publish, one to consume)", n)
	}
}

// A relay whose publishes go unconfirmed gives up the outbox's leader lock,
// so another instance, whose broker connection works, relays instead.
func TestStuckRelayHandsOverItsLeaderLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "amqp")
	vhost := amqptest.NewVHost(t)
	proxy := amqptest.NewProxy(t, vhost)
	startRelay := func(url string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		log := zaptest.NewLogger(t)
		tr, err := bus.NewAMQP(ctx, url, bus.WatermillLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		b := bus.New(bus.Config{PublishTimeout: 500 * time.Millisecond, RelayPoll: 200 * time.Millisecond}, tr, log, nil)
		b.Relay(w.producer)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			proxy.Hold(false) // else the stuck relay's stop would wait for it
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = b.Stop(ctx)
		})
	}
	depth := func() int64 {
		n, err := bus.OutboxDepth(context.Background(), w.producer.Pool)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	startRelay(proxy.URL) // the leader: it takes the lock at once, the outbox being empty
	w.emit(t, "a", 1)
	waitFor(t, "the leader to relay", func() bool { return depth() == 0 })

	proxy.Hold(true) // the leader's broker stops answering
	w.emit(t, "a", 2)
	startRelay(vhost) // a standby with a working connection
	deadline := time.Now().Add(15 * time.Second)
	for depth() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the event is still in the outbox: the stuck relay kept its leader lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
