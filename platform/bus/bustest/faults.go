// Package bustest injects message faults into a bus transport, for tests
// only: the same faults on every transport, so one suite proves that the
// consumers' effects happen once whatever the broker does.
//
// The faults are the ones a real broker and a real relay produce, and no
// others:
//
//   - a duplicate: the relay published a row twice (it died between the
//     broker's confirm and the DELETE, or two relays raced);
//   - a delay: the broker or the network is slow; the message's lane waits,
//     as it does behind a slow publish;
//   - a reordering: a message is held back until later messages of other
//     lanes (other aggregates, other event types) have gone past it;
//   - a redelivery: a consumer gets a message again after it acked it,
//     behind the later messages of its lane (a broker redelivering what it
//     did not know was acked).
//
// A lane's first deliveries are never reordered among themselves: that is
// what the transports guarantee (bus.Partitions), and what the bus
// promises its consumers. A stale redelivery is the only message that comes
// out of its lane's order, and the inbox must absorb it.
package bustest

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/modmono/shop/platform/bus"
)

// Faults says how often each fault strikes: each rate is the probability,
// in [0, 1], that one message suffers it.
type Faults struct {
	// Seed seeds the decisions; a failing run names it. The timing of
	// concurrent lanes still varies between runs.
	Seed uint64
	// Duplicate publishes a message twice in a row.
	Duplicate float64
	// Delay holds a message for up to MaxDelay before it is published.
	Delay float64
	// Reorder holds a message back until two later messages (of other
	// lanes) were published, or MaxDelay passed.
	Reorder float64
	// Redeliver delivers a message again to the consumer that acked it,
	// after the next message of its lane (or after MaxDelay when none comes).
	Redeliver float64
	// MaxDelay bounds each hold; default 200ms.
	MaxDelay time.Duration
}

// Counts are the faults injected so far.
type Counts struct {
	Published, Duplicated, Delayed, Reordered, Redelivered int64
}

// Transport is a bus.Transport that injects Faults. Publishing goes through
// the faults, and so do the messages of each consumer's subscriber;
// broadcasts to listeners (no inbox, effects harmless to repeat) only get
// the publishing faults.
type Transport struct {
	bus.Transport
	faults Faults

	rngMu sync.Mutex
	rng   *rand.Rand

	pubMu     sync.Mutex
	published int64
	advanced  chan struct{} // closed and replaced at every publish

	duplicated, delayed, reordered, redelivered atomic.Int64
}

// Inject wraps inner with faults.
func Inject(inner bus.Transport, faults Faults) *Transport {
	if faults.MaxDelay <= 0 {
		faults.MaxDelay = 200 * time.Millisecond
	}
	return &Transport{Transport: inner, faults: faults,
		rng: rand.New(rand.NewPCG(faults.Seed, faults.Seed^0x9e3779b97f4a7c15)), advanced: make(chan struct{})}
}

// Counts returns the faults injected so far.
func (t *Transport) Counts() Counts {
	t.pubMu.Lock()
	published := t.published
	t.pubMu.Unlock()
	return Counts{Published: published, Duplicated: t.duplicated.Load(), Delayed: t.delayed.Load(),
		Reordered: t.reordered.Load(), Redelivered: t.redelivered.Load()}
}

// strikes draws whether a fault of the given rate strikes this message.
func (t *Transport) strikes(rate float64) bool {
	if rate <= 0 {
		return false
	}
	t.rngMu.Lock()
	defer t.rngMu.Unlock()
	return t.rng.Float64() < rate
}

// upTo draws a duration in (0, d].
func (t *Transport) upTo(d time.Duration) time.Duration {
	t.rngMu.Lock()
	defer t.rngMu.Unlock()
	return 1 + time.Duration(t.rng.Int64N(int64(d)))
}

// Publish publishes each message through the faults. It returns like the
// inner transport: only once the message (and its duplicate) is delivered
// or confirmed, so the relay keeps its row until then.
func (t *Transport) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		if t.strikes(t.faults.Delay) {
			t.delayed.Add(1)
			t.sleep(msg.Context(), t.upTo(t.faults.MaxDelay))
		}
		if t.strikes(t.faults.Reorder) {
			t.reordered.Add(1)
			t.holdBack(msg.Context(), 2)
		}
		if err := t.Transport.Publish(topic, msg); err != nil {
			return err
		}
		if t.strikes(t.faults.Duplicate) {
			t.duplicated.Add(1)
			dup := msg.Copy()
			dup.SetContext(msg.Context())
			if err := t.Transport.Publish(topic, dup); err != nil {
				return err
			}
		}
		t.advance()
	}
	return nil
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// advance counts a publish and wakes the messages held back.
func (t *Transport) advance() {
	t.pubMu.Lock()
	defer t.pubMu.Unlock()
	t.published++
	close(t.advanced)
	t.advanced = make(chan struct{})
}

// holdBack waits until n later publishes went through, MaxDelay passed or
// ctx ended. Only other lanes can publish meanwhile: this message's lane
// waits for it.
func (t *Transport) holdBack(ctx context.Context, n int64) {
	t.pubMu.Lock()
	target := t.published + n
	t.pubMu.Unlock()
	timeout := time.After(t.faults.MaxDelay)
	for {
		t.pubMu.Lock()
		done, advanced := t.published >= target, t.advanced
		t.pubMu.Unlock()
		if done {
			return
		}
		select {
		case <-advanced:
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Subscriber returns the consumer's subscriber, whose messages may be
// redelivered after they were acked.
func (t *Transport) Subscriber(name string) (message.Subscriber, error) {
	sub, err := t.Transport.Subscriber(name)
	if err != nil {
		return nil, err
	}
	return &subscriber{Subscriber: sub, t: t}, nil
}

type subscriber struct {
	message.Subscriber
	t *Transport
}

// Subscribe forwards the inner subscription's messages one at a time, as
// the transports deliver a lane (the next only once the previous one was
// acked or nacked), and adds the redeliveries.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.Subscriber.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	go s.forward(ctx, in, out)
	return out, nil
}

func (s *subscriber) forward(ctx context.Context, in <-chan *message.Message, out chan<- *message.Message) {
	defer close(out)
	var again []*message.Message // acked messages to deliver once more, after the next one
	for {
		var idle <-chan time.Time
		if len(again) > 0 {
			idle = time.After(s.t.faults.MaxDelay)
		}
		select {
		case msg, ok := <-in:
			if !ok {
				return
			}
			// The original: the inner subscriber sees its ack or nack.
			acked, alive := deliver(ctx, out, msg)
			if !alive {
				return
			}
			if !s.redeliver(ctx, out, again) {
				return
			}
			again = nil
			if acked && s.t.strikes(s.t.faults.Redeliver) {
				again = append(again, msg.Copy())
			}
		case <-idle:
			if !s.redeliver(ctx, out, again) {
				return
			}
			again = nil
		case <-ctx.Done():
			return
		}
	}
}

// redeliver delivers copies of acked messages. Their own ack goes nowhere,
// as a broker's redelivery of a message already handled.
func (s *subscriber) redeliver(ctx context.Context, out chan<- *message.Message, copies []*message.Message) bool {
	for _, c := range copies {
		c.SetContext(ctx)
		s.t.redelivered.Add(1)
		if _, alive := deliver(ctx, out, c); !alive {
			return false
		}
	}
	return true
}

// deliver hands msg to the consumer and waits for its ack or nack; alive is
// false when the subscription ended first.
func deliver(ctx context.Context, out chan<- *message.Message, msg *message.Message) (acked, alive bool) {
	select {
	case out <- msg:
	case <-ctx.Done():
		return false, false
	}
	select {
	case <-msg.Acked():
		return true, true
	case <-msg.Nacked():
		return false, true
	case <-ctx.Done():
		return false, false
	}
}
