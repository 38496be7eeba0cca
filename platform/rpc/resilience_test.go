package rpc_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/rpc"
)

// Answers of a remote, as handlers.
var (
	answerInternal = func(w http.ResponseWriter, r *http.Request) { httpx.WriteError(w, r, nil, errInternal) }
	answerNotFound = func(w http.ResponseWriter, r *http.Request) { httpx.WriteError(w, r, nil, errNotFound) }
	answerOK       = func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, Reply{Greeting: "ok"})
	}
	answerBadGateway = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }
)

// failFirst fails n requests with fail, then answers with ok.
func failFirst(n int32, fail, ok http.HandlerFunc) http.HandlerFunc {
	var seen atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			fail(w, r)
			return
		}
		ok(w, r)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		handler     http.HandlerFunc
		idempotent  bool
		maxAttempts int
		attempts    int32
		want        error // nil: success
	}{
		"500, idempotent":           {answerInternal, true, 0, 3, rpc.ErrUnavailable},
		"500, idempotent, 5 tries":  {answerInternal, true, 5, 5, rpc.ErrUnavailable},
		"500, not idempotent":       {answerInternal, false, 0, 1, rpc.ErrUnavailable},
		"hang-up, idempotent":       {hangUp, true, 0, 3, rpc.ErrUnavailable},
		"hang-up, not idempotent":   {hangUp, false, 0, 1, rpc.ErrUnavailable},
		"502 text, idempotent":      {answerBadGateway, true, 0, 3, rpc.ErrUnavailable},
		"4xx answer, idempotent":    {answerNotFound, true, 0, 1, errNotFound},
		"4xx answer, not idem.":     {answerNotFound, false, 0, 1, errNotFound},
		"recovers on the 3rd":       {failFirst(2, answerInternal, answerOK), true, 0, 3, nil},
		"recovers after a hang-up":  {failFirst(1, hangUp, answerOK), true, 0, 2, nil},
		"no retry of a non-idem ok": {failFirst(1, hangUp, answerOK), false, 0, 1, rpc.ErrUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, n := serveFunc(t, tc.handler)
			opts := fastRetries()
			opts.MaxAttempts = tc.maxAttempts
			c, _, _ := newClient(t, opts, srv.URL)
			var out Reply
			err := c.Call(t.Context(), "Hello", tc.idempotent, &out, "x")
			switch {
			case tc.want == nil && (err != nil || out.Greeting != "ok"):
				t.Fatalf("got %+v, %v", out, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := n.Load(); got != tc.attempts {
				t.Fatalf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

// A remote nobody listens on is unavailable.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	_, g, reg := newClient(t, fastRetries(), unreachable)
	if _, err := g.Hello(t.Context(), "x"); !errors.Is(err, rpc.ErrUnavailable) || apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("got %v", err)
	}
	if n := metric(t, reg, rpc.CallsMetric, map[string]string{"method": "Hello", "outcome": "unavailable"}); n != 1 {
		t.Fatalf("unavailable calls: %v", n)
	}
}

// The wait between retries ends with the caller's context.
func TestBackoffBoundedByContext(t *testing.T) {
	t.Parallel()
	srv, n := serveFunc(t, answerInternal)
	_, g, _ := newClient(t, rpc.Options{RetryInitial: time.Hour, RetryMax: time.Hour}, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := g.Ping(ctx)
	if !errors.Is(err, rpc.ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the call took %v", d)
	}
	if got := n.Load(); got > 1 {
		t.Fatalf("%d attempts", got)
	}
}

// A call whose context has already ended does not reach the remote.
func TestEndedContext(t *testing.T) {
	t.Parallel()
	srv, n := serveFunc(t, answerOK)
	c, g, _ := newClient(t, rpc.Options{BreakerFailures: 1}, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := g.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	ctx, cancel = context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if err := g.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("%d calls reached the remote", got)
	}
	if st := c.BreakerState(); st != gobreaker.StateClosed {
		t.Fatalf("breaker %v", st)
	}
}

func TestBreakerOpensAndCloses(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	srv, n := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		answerInternal(w, r)
	})
	c, g, reg := newClient(t, rpc.Options{BreakerFailures: 3, BreakerOpenFor: 250 * time.Millisecond, EjectAfter: 1000}, srv.URL)
	state := func() float64 { return metric(t, reg, rpc.BreakerMetric, map[string]string{"remote": module}) }
	if s := state(); s != 0 {
		t.Fatalf("a new breaker reads %v", s)
	}
	for i := range 3 {
		if err := g.Poke(t.Context()); !errors.Is(err, rpc.ErrUnavailable) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if s := state(); s != 2 || c.BreakerState() != gobreaker.StateOpen {
		t.Fatalf("after 3 failures the breaker reads %v (%v)", s, c.BreakerState())
	}
	// Open: fail fast, without reaching the remote.
	err := g.Poke(t.Context())
	if !errors.Is(err, rpc.ErrUnavailable) || !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("open breaker: %v", err)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("the remote got %d calls, want 3", got)
	}
	healthy.Store(true)
	eventually(t, "the breaker is half-open", func() bool { return state() == 1 })
	if err := g.Poke(t.Context()); err != nil {
		t.Fatalf("trial call: %v", err)
	}
	if s := state(); s != 0 {
		t.Fatalf("after a successful trial the breaker reads %v", s)
	}
	if got := metric(t, reg, rpc.CallsMetric, map[string]string{"method": "Poke", "outcome": "unavailable"}); got != 4 {
		t.Fatalf("unavailable calls: %v", got)
	}
}

// A failed trial call opens the breaker again.
func TestBreakerReopens(t *testing.T) {
	t.Parallel()
	srv, _ := serveFunc(t, answerInternal)
	c, g, _ := newClient(t, rpc.Options{BreakerFailures: 1, BreakerOpenFor: 20 * time.Millisecond}, srv.URL)
	_ = g.Poke(t.Context())
	eventually(t, "the breaker is half-open", func() bool { return c.BreakerState() == gobreaker.StateHalfOpen })
	_ = g.Poke(t.Context())
	if st := c.BreakerState(); st == gobreaker.StateClosed {
		t.Fatalf("breaker %v after a failed trial", st)
	}
}

// Errors that are not failures of the remote leave the breaker closed.
func TestBreakerIgnoresAnswersAndQuitters(t *testing.T) {
	t.Parallel()
	opts := rpc.Options{BreakerFailures: 2, MaxAttempts: 1}

	t.Run("module answers", func(t *testing.T) {
		t.Parallel()
		srv, n := serveFunc(t, answerNotFound)
		c, g, _ := newClient(t, opts, srv.URL)
		for range 10 {
			if _, err := g.Hello(t.Context(), "x"); !errors.Is(err, errNotFound) {
				t.Fatal(err)
			}
		}
		if st := c.BreakerState(); st != gobreaker.StateClosed || n.Load() != 10 {
			t.Fatalf("breaker %v, %d calls reached the remote", st, n.Load())
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		t.Parallel()
		entered := make(chan struct{})
		srv, n := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-r.Context().Done()
		})
		c, g, _ := newClient(t, opts, srv.URL)
		for range 5 {
			ctx, cancel := context.WithCancel(t.Context())
			go func() { <-entered; cancel() }()
			if err := g.Poke(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, rpc.ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
		}
		if st := c.BreakerState(); st != gobreaker.StateClosed || n.Load() != 5 {
			t.Fatalf("breaker %v, %d calls reached the remote", st, n.Load())
		}
	})
}

// A remote that does not answer in time is failing, whichever deadline
// ends the wait: the attempt's timeout, or the caller's (a request handler's
// context always has one, shorter than the default attempt timeout).
func TestBreakerOpensOnTimeouts(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opts   rpc.Options
		caller time.Duration
	}{
		"attempt timeout": {rpc.Options{Timeout: 20 * time.Millisecond}, time.Minute},
		"caller deadline": {rpc.Options{}, 50 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, n := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			tc.opts.BreakerFailures = 3
			c, g, _ := newClient(t, tc.opts, srv.URL)
			// Three timeouts open it; on a busy machine a caller's deadline
			// may pass before its call starts, which does not count.
			calls := 0
			for c.BreakerState() != gobreaker.StateOpen {
				if calls++; calls > 20 {
					t.Fatalf("the breaker is still %v after %d timeouts", c.BreakerState(), calls-1)
				}
				ctx, cancel := context.WithTimeout(t.Context(), tc.caller)
				err := g.Poke(ctx)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("call %d: %v", calls, err)
				}
			}
			err := g.Poke(t.Context())
			if !errors.Is(err, rpc.ErrUnavailable) || !errors.Is(err, gobreaker.ErrOpenState) {
				t.Fatalf("open breaker: %v", err)
			}
			if got := n.Load(); got > int32(calls) {
				t.Fatalf("%d calls reached the remote, %d were made before it opened", got, calls)
			}
		})
	}
}

func TestBulkhead(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	srv, n := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	})
	_, g, reg := newClient(t, rpc.Options{MaxConcurrent: 2}, srv.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() { errs <- g.Ping(t.Context()) })
	}
	<-entered
	<-entered
	if got := metric(t, reg, "rpc_bulkhead_in_use", map[string]string{"remote": module}); got != 2 {
		t.Fatalf("bulkhead in use: %v", got)
	}
	start := time.Now()
	err := g.Ping(t.Context())
	if !errors.Is(err, rpc.ErrOverloaded) || apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("3rd call: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refusal took %v", d)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a call in the bulkhead: %v", err)
		}
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("%d calls reached the remote", got)
	}
	if got := metric(t, reg, rpc.CallsMetric, map[string]string{"method": "Ping", "outcome": "overloaded"}); got != 1 {
		t.Fatalf("overloaded calls: %v", got)
	}
	if err := g.Ping(t.Context()); err != nil { // the slots are free again
		t.Fatal(err)
	}
}
