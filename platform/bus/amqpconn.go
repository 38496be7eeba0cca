package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// maxDialTimeout bounds one connection attempt when the caller's deadline is
// further away.
const maxDialTimeout = 5 * time.Second

// amqpConn is one AMQP connection, dialled when first needed and again
// whenever it has closed: a reconnect happens on the next use, within that
// use's deadline. The publisher uses it rather than Watermill's
// ConnectionWrapper, whose state is read and reconnected without
// synchronisation and whose calls have no deadline.
type amqpConn struct {
	url  string
	mu   sync.Mutex
	conn *amqp091.Connection
}

// get returns the open connection, dialling one within ctx if there is none.
func (c *amqpConn) get(ctx context.Context) (*amqp091.Connection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && !c.conn.IsClosed() {
		return c.conn, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := maxDialTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	// The dialer's deadline also bounds the AMQP handshake.
	props := amqp091.NewConnectionProperties()
	props.SetClientConnectionName("shop publisher")
	// amqp091.Dial's heartbeat and locale, with the dial bounded by ctx.
	conn, err := amqp091.DialConfig(c.url, amqp091.Config{Dial: amqp091.DefaultDial(timeout),
		Heartbeat: 10 * time.Second, Locale: "en_US", Properties: props})
	if err != nil {
		return nil, err
	}
	c.conn = conn
	return conn, nil
}

// channel opens a channel and prepares it with setup, within ctx: both wait
// for the broker's answers, which a stuck broker never sends (a channel that
// opens too late is closed).
func (c *amqpConn) channel(ctx context.Context, setup func(*amqp091.Channel) error) (*amqp091.Channel, error) {
	conn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	type opened struct {
		ch  *amqp091.Channel
		err error
	}
	result := make(chan opened, 1)
	go func() {
		ch, err := conn.Channel()
		if err == nil {
			if err = setup(ch); err != nil {
				closeLater(ch)
			}
		}
		result <- opened{ch, err}
	}()
	select {
	case r := <-result:
		return r.ch, r.err
	case <-ctx.Done():
		go func() {
			if r := <-result; r.err == nil {
				closeLater(r.ch)
			}
		}()
		return nil, fmt.Errorf("%w: %w", ErrNotConfirmed, ctx.Err())
	}
}

// ping reports whether the broker can be reached, connecting if need be.
func (c *amqpConn) ping(ctx context.Context) error {
	_, err := c.get(ctx)
	return err
}

func (c *amqpConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	if errors.Is(err, amqp091.ErrClosed) {
		err = nil
	}
	return err
}

// closeLater closes ch without waiting: closing waits for the broker's
// answer, which a stuck broker never sends (the close then ends with the
// connection).
func closeLater(ch *amqp091.Channel) {
	go func() { _ = ch.Close() }()
}
