package provider

import (
	"context"
	"errors"
	"fmt"
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
	Timeout     time.Duration // limit of each call; required (APP_PAYMENT_TIMEOUT)
	MaxFailures uint32        // consecutive timeouts or errors that open the breaker; default 5
	OpenFor     time.Duration // how long the breaker stays open before it lets one trial call through; default 30s
}

func (c *GuardConfig) setDefaults() {
	if c.MaxFailures == 0 {
		c.MaxFailures = 5
	}
	if c.OpenFor == 0 {
		c.OpenFor = 30 * time.Second
	}
}

// BreakerMetric is the gauge of the breaker's state: 0 closed, 1 half-open,
// 2 open.
const BreakerMetric = "payments_provider_breaker_state"

// Guard wraps a provider: every call gets a timeout and goes through a
// circuit breaker. A declined call is a success for the breaker (the
// provider answered); a timeout or an error is a failure, and after
// MaxFailures in a row the breaker opens and calls fail at once with
// paymentsapi.ErrProviderDown until a trial call succeeds. A call whose
// caller gave up (its context ended) counts for nothing. Safe for
// concurrent use.
type Guard struct {
	next    domain.Provider
	timeout time.Duration
	breaker *gobreaker.CircuitBreaker[domain.Outcome]
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
		Name:        "payment-provider",
		MaxRequests: 1,
		Timeout:     cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.MaxFailures },
		IsExcluded:  func(err error) bool { return errors.As(err, new(callerGone)) },
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

// callerGone marks a failure caused by the caller's context ending, which
// says nothing about the provider's health.
type callerGone struct{ err error }

func (e callerGone) Error() string { return e.err.Error() }
func (e callerGone) Unwrap() error { return e.err }

func (g *Guard) call(ctx context.Context, op string, fn func(context.Context) (domain.Outcome, error)) (domain.Outcome, error) {
	out, err := g.breaker.Execute(func() (domain.Outcome, error) {
		callCtx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		out, err := fn(callCtx)
		switch {
		case err == nil:
			return out, nil
		case errors.Is(ctx.Err(), context.Canceled):
			// The caller left: says nothing about the provider. A caller's
			// deadline does count: the saga's charge deadline equals ours,
			// and a provider that keeps missing it must open the breaker.
			return domain.Outcome{}, callerGone{err}
		case errors.Is(callCtx.Err(), context.DeadlineExceeded):
			return domain.Outcome{}, paymentsapi.ErrProviderTimeout.Wrap(fmt.Errorf("%s after %s: %w", op, g.timeout, err))
		default:
			return domain.Outcome{}, paymentsapi.ErrProviderDown.Wrap(fmt.Errorf("%s: %w", op, err))
		}
	})
	var gone callerGone
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return domain.Outcome{}, paymentsapi.ErrProviderDown.Wrap(fmt.Errorf("%s: %w", op, err))
	case errors.As(err, &gone):
		return domain.Outcome{}, gone.err
	}
	return out, err
}
