package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/paymentsapi"
)

// GuardConfig tunes Guard. Zero values take the defaults in the comments.
type GuardConfig struct {
	Timeout      time.Duration // limit of each call; required (APP_PAYMENT_TIMEOUT)
	MinRequests  uint32        // calls counted in the window before the breaker may open; default 10
	FailureRatio float64       // share of counted calls that failed at which it opens; default 0.5
	Window       time.Duration // rolling window the calls are counted in; default 60s
	OpenFor      time.Duration // how long the breaker stays open before it lets one trial call through; default 30s
}

func (c *GuardConfig) setDefaults() {
	if c.MinRequests == 0 {
		c.MinRequests = 10
	}
	if c.FailureRatio <= 0 || c.FailureRatio > 1 {
		c.FailureRatio = 0.5
	}
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.OpenFor == 0 {
		c.OpenFor = 30 * time.Second
	}
}

// windowBuckets is how many steps the rolling window moves by: old calls
// leave it gradually rather than all at once.
const windowBuckets = 6

// probeFresh is how long the answer of a Ping is reused: a burst of
// timeouts (one customer's tok_slow orders) costs one Ping, not one each.
const probeFresh = time.Second

// probeTimeout bounds a Ping.
const probeTimeout = time.Second

// BreakerMetric is the gauge of the breaker's state: 0 closed, 1 half-open,
// 2 open.
const BreakerMetric = "payments_provider_breaker_state"

// Guard wraps a provider: every call gets a timeout and goes through a
// circuit breaker shared by every customer of the process, so only the
// provider's own failures may open it — never what one request's input
// causes, or one customer could stop everyone's checkout:
//
//   - a decline is a success (the provider answered);
//   - an error is a provider failure;
//   - a timeout is a provider failure only if the provider does not answer
//     a Ping either; when it does, the request was slow for its own reasons
//     (tok_slow, a slow issuer) and counts for nothing;
//   - a call whose caller gave up (cancelled) counts for nothing.
//
// The breaker opens when, within a rolling Window, at least MinRequests
// calls were counted and FailureRatio of them failed; then calls fail at
// once with paymentsapi.ErrProviderDown until a trial call succeeds. Safe
// for concurrent use.
type Guard struct {
	next    domain.Provider
	timeout time.Duration
	breaker *gobreaker.CircuitBreaker[domain.Outcome]

	probeMu  sync.Mutex
	probedAt time.Time
	probeErr error
}

var _ domain.Provider = (*Guard)(nil)

// NewGuard wraps next. It registers the breaker's state gauge on reg (when
// not nil) and logs every change of state.
func NewGuard(next domain.Provider, cfg GuardConfig, reg prometheus.Registerer, log *zap.Logger) (*Guard, error) {
	cfg.setDefaults()
	if cfg.Timeout <= 0 {
		return nil, errors.New("payments: the provider timeout must be positive")
	}
	if log == nil {
		log = zap.NewNop()
	}
	g := &Guard{next: next, timeout: cfg.Timeout}
	g.breaker = gobreaker.NewCircuitBreaker[domain.Outcome](gobreaker.Settings{
		Name:         "payment-provider",
		MaxRequests:  1,
		Interval:     cfg.Window,
		BucketPeriod: cfg.Window / windowBuckets,
		Timeout:      cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= cfg.MinRequests && float64(c.TotalFailures) >= cfg.FailureRatio*float64(c.Requests)
		},
		IsExcluded: func(err error) bool { return errors.As(err, new(notTheProvider)) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			level := zap.InfoLevel
			if to == gobreaker.StateOpen {
				level = zap.WarnLevel
			}
			log.Log(level, "payment provider circuit breaker changed state",
				zap.String("breaker", name), zap.String("from", from.String()), zap.String("to", to.String()))
		},
	})
	if reg != nil {
		// A function gauge reads the state at scrape time, so an open
		// breaker whose wait is over shows as half-open without a call.
		gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: BreakerMetric,
			Help: "State of the payment provider circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, func() float64 { return float64(g.breaker.State()) })
		if err := reg.Register(gauge); err != nil {
			return nil, fmt.Errorf("payments: register %s: %w", BreakerMetric, err)
		}
	}
	return g, nil
}

// Authorize calls the provider's Authorize under the guard.
func (g *Guard) Authorize(ctx context.Context, key uuid.UUID, token string, amount domain.Money) (domain.Outcome, error) {
	return g.call(ctx, "authorize", func(ctx context.Context) (domain.Outcome, error) {
		return g.next.Authorize(ctx, key, token, amount)
	})
}

// Capture calls the provider's Capture under the guard.
func (g *Guard) Capture(ctx context.Context, key uuid.UUID, amount domain.Money) (domain.Outcome, error) {
	return g.call(ctx, "capture", func(ctx context.Context) (domain.Outcome, error) {
		return g.next.Capture(ctx, key, amount)
	})
}

// Refund calls the provider's Refund under the guard.
func (g *Guard) Refund(ctx context.Context, key uuid.UUID, amount domain.Money) (domain.Outcome, error) {
	return g.call(ctx, "refund", func(ctx context.Context) (domain.Outcome, error) {
		return g.next.Refund(ctx, key, amount)
	})
}

// Void calls the provider's Void under the guard.
func (g *Guard) Void(ctx context.Context, key uuid.UUID) (domain.Outcome, error) {
	return g.call(ctx, "void", func(ctx context.Context) (domain.Outcome, error) {
		return g.next.Void(ctx, key)
	})
}

// notTheProvider marks a failure that says nothing about the provider's
// health: the caller left, or the call was slow for its own input while the
// provider answered. The breaker leaves it out of its counts.
type notTheProvider struct{ err error }

func (e notTheProvider) Error() string { return e.err.Error() }
func (e notTheProvider) Unwrap() error { return e.err }

// Ping checks the provider, outside the breaker, within the call timeout
// and at most probeTimeout: a status check answers fast or not at all, and a
// caller whose call just timed out waits for it.
func (g *Guard) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(g.timeout, probeTimeout))
	defer cancel()
	return g.next.Ping(ctx)
}

// providerAnswers pings the provider, or reuses a ping younger than
// probeFresh. It runs apart from the caller's context, which may be over.
func (g *Guard) providerAnswers(ctx context.Context) bool {
	g.probeMu.Lock()
	if time.Since(g.probedAt) < probeFresh {
		err := g.probeErr
		g.probeMu.Unlock()
		return err == nil
	}
	g.probeMu.Unlock()
	err := g.Ping(context.WithoutCancel(ctx))
	g.probeMu.Lock()
	g.probedAt, g.probeErr = time.Now(), err
	g.probeMu.Unlock()
	return err == nil
}

func (g *Guard) call(ctx context.Context, op string, fn func(context.Context) (domain.Outcome, error)) (domain.Outcome, error) {
	out, err := g.breaker.Execute(func() (domain.Outcome, error) {
		callCtx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		out, err := fn(callCtx)
		switch {
		case err == nil:
			return out, nil
		case errors.Is(ctx.Err(), context.Canceled):
			// The caller left: says nothing about the provider.
			return domain.Outcome{}, notTheProvider{err}
		case errors.Is(callCtx.Err(), context.DeadlineExceeded):
			timeout := paymentsapi.ErrProviderTimeout.Wrap(fmt.Errorf("%s after %s: %w", op, g.timeout, err))
			if g.providerAnswers(ctx) {
				return domain.Outcome{}, notTheProvider{timeout}
			}
			return domain.Outcome{}, timeout
		default:
			return domain.Outcome{}, paymentsapi.ErrProviderDown.Wrap(fmt.Errorf("%s: %w", op, err))
		}
	})
	var excluded notTheProvider
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return domain.Outcome{}, paymentsapi.ErrProviderDown.Wrap(fmt.Errorf("%s: %w", op, err))
	case errors.As(err, &excluded):
		return domain.Outcome{}, excluded.err
	}
	return out, err
}
