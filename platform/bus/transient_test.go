package bus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modmono/shop/platform/bus"
)

func TestIsTransient(t *testing.T) {
	t.Parallel()
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"deadlock", fmt.Errorf("apply: %w", &pgconn.PgError{Code: "40P01"}), true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"disk full", &pgconn.PgError{Code: "53100"}, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, true},
		{"lock not available", &pgconn.PgError{Code: "55P03"}, true},
		{"net error", fmt.Errorf("query: %w", opErr), true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},
		{"marked by a handler", bus.Transient(errors.New("the cache is warming up")), true},
		{"connection closed", fmt.Errorf("tx: %w", pgconn.ErrConnClosed), true},

		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"check violation", &pgconn.PgError{Code: "23514"}, false},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, false},
		{"lock other than 55P03", &pgconn.PgError{Code: "55006"}, false},
		{"domain rejection", errors.New("order is already confirmed"), false},
		{"malformed", fmt.Errorf("%w: bad payload", bus.ErrMalformed), false},
		{"malformed wins over transient", bus.Transient(fmt.Errorf("%w: bad", bus.ErrMalformed)), false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		if got := bus.IsTransient(c.err); got != c.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// A transient failure (here a serialization failure) is retried past
// MaxRetries, without limit, and never dead-lettered; it is counted.
func TestTransientFailureIsRetriedWithoutLimit(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.fail(fmt.Errorf("apply: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"}))
		w.failFirstN.Store(8) // MaxRetries is 2
		reg := prometheus.NewRegistry()
		b := w.startBus(t, true, reg)
		w.emit(t, "k", 1)
		waitFor(t, "the effect", func() bool { return len(w.seen(t)) == 1 })
		if dl, _ := b.DeadLetters(context.Background(), 10); len(dl) != 0 || w.calls.Load() != 9 {
			t.Fatalf("dead letters %v, calls %d; want none and 9", dl, w.calls.Load())
		}
		if got := testutil.ToFloat64(mustCounter(t, reg, "bus_handler_transient_retries_total", w.name)); got != 8 {
			t.Fatalf("transient retries counted %v, want 8", got)
		}
	})
}

// Content failures still go to the dead letters after the bounded retries,
// even when transient failures came between them.
func TestContentFailureAfterTransientOnesIsDeadLettered(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "gochannel")
	w.fail(bus.Transient(errors.New("not yet")))
	w.failFirstN.Store(4)
	b := w.startBus(t, true, nil)
	w.emit(t, "k", 1)
	waitFor(t, "the effect", func() bool { return len(w.seen(t)) == 1 })
	w.fail(nil)
	w.failFirstN.Store(-1)
	w.emit(t, "k", 2)
	var dl []bus.DeadLetter
	waitFor(t, "a dead letter", func() bool { dl, _ = b.DeadLetters(context.Background(), 10); return len(dl) == 1 })
	if dl[0].Attempts != 3 {
		t.Fatalf("dead letter after %d attempts, want 3", dl[0].Attempts)
	}
}

// A message failing transiently blocks its lane until the bus stops; Stop
// ends the retry loop promptly and leaves the message unacked, so a later
// process handles it.
func TestStopEndsTransientRetriesAndKeepsTheMessage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "amqp")
	w.fail(&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	w.failFirstN.Store(-1)
	b := w.startBus(t, true, nil)
	w.emit(t, "k", 1)
	waitFor(t, "several attempts", func() bool { return w.calls.Load() > 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stop took %v", took)
	}
	if dl, _ := b.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("dead-lettered at stop: %+v", dl)
	}
	w.failFirstN.Store(0) // the database is back
	w.startBus(t, true, nil)
	waitFor(t, "the redelivered message", func() bool { return len(w.seen(t)) == 1 })
}

// fail sets what a failing handler attempt returns (nil: a plain content error).
func (w *world) fail(err error) {
	if err == nil {
		w.failWith.Store(nil)
		return
	}
	w.failWith.Store(&err)
}
