package ratelimit

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/httpx"
)

// Rule is one named budget: Limit requests per Window for each key. The name
// keeps budgets apart where they share a store and a key (the logins and the
// registrations of one client address).
type Rule struct {
	Name   string        // "identity.login"; required
	Limit  int           // requests per Window, also the largest burst; at least 1
	Window time.Duration // positive
}

// Decision is a store's answer for one request.
type Decision struct {
	Allowed    bool
	Remaining  int           // requests the key could still make at once
	RetryAfter time.Duration // when refused: the wait until one more is admitted
	ResetAfter time.Duration // until the key's budget is whole again
}

// A Store counts requests per rule and key. Allow records the request when
// it is admitted and reports the decision.
type Store interface {
	Allow(ctx context.Context, rule Rule, key string) (Decision, error)
}

// Defaults of Options.
const (
	DefaultTimeout  = 100 * time.Millisecond
	DefaultCooldown = 5 * time.Second
)

// Options tune a Limiter. Every field is optional.
type Options struct {
	// Timeout bounds each call to the shared store. Default DefaultTimeout.
	Timeout time.Duration
	// Cooldown is how long the limiter counts in memory after the shared
	// store failed, before trying it again. Default DefaultCooldown.
	Cooldown time.Duration
	// Registerer receives the limiter's metrics; nil: none.
	Registerer prometheus.Registerer
	// Logger logs the shared store's failures; nil: none.
	Logger *zap.Logger
}

func (o *Options) setDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Limiter applies rules to requests. Its methods are safe for concurrent
// use; a process has one, shared by every module's routes.
type Limiter struct {
	shared  Store // nil: count in memory only
	local   *Memory
	breaker *gobreaker.CircuitBreaker[Decision]
	opts    Options

	refused     *prometheus.CounterVec
	storeErrors prometheus.Counter
}

// New returns a limiter counting in shared, or in this process's memory when
// shared is nil. See the package documentation for a failing shared store.
func New(shared Store, o Options) (*Limiter, error) {
	o.setDefaults()
	l := &Limiter{shared: shared, local: NewMemory(), opts: o}
	l.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_rate_limited_total",
		Help: "Requests refused with 429 by a rate limit, by rule.",
	}, []string{"rule"})
	l.storeErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "http_rate_limit_store_errors_total",
		Help: "Calls to the shared rate-limit store (Redis) that failed or timed out; the request was counted in the process's memory instead.",
	})
	l.breaker = gobreaker.NewCircuitBreaker[Decision](gobreaker.Settings{
		Name:        "ratelimit-store",
		MaxRequests: 1, // one request probes the store after a cooldown
		Timeout:     o.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateClosed {
				o.Logger.Info("the shared rate-limit store answers again: limits are counted across instances")
			}
		},
	})
	if reg := o.Registerer; reg != nil {
		state := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "http_rate_limit_store_state",
			Help: "Whether limits are counted in the shared store: 0 yes, 1 probing it, 2 no (it failed: counted in this process). 0 without a shared store.",
		}, func() float64 {
			if l.shared == nil {
				return 0
			}
			return float64(l.breaker.State())
		})
		for _, c := range []prometheus.Collector{l.refused, l.storeErrors, state} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

// Allow decides on one request of key under rule. It always decides: when
// the shared store fails, this process's memory does.
func (l *Limiter) Allow(ctx context.Context, rule Rule, key string) Decision {
	if l.shared != nil {
		d, err := l.breaker.Execute(func() (Decision, error) {
			// The client leaving must not count as a store failure.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.Timeout)
			defer cancel()
			return l.shared.Allow(ctx, rule, key)
		})
		if err == nil {
			return d
		}
		if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
			l.storeErrors.Inc()
			// At most one a cooldown: the breaker keeps the store alone meanwhile.
			l.opts.Logger.Warn("the shared rate-limit store failed: counting limits in this process until it answers",
				zap.Error(err), zap.Duration("retry_in", l.opts.Cooldown))
		}
	}
	d, _ := l.local.Allow(ctx, rule, key) // memory does not fail
	return d
}

// Limit returns middleware admitting at most rule's budget for each key and
// answering the rest with 429 http.rate_limited and Retry-After. Every answer
// carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset
// (Unix seconds). A key function's error is answered as a problem.
func (l *Limiter) Limit(rule Rule, key httpx.KeyFunc) func(http.Handler) http.Handler {
	rule = rule.normalized()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k, err := key(r)
			if err != nil {
				httpx.WriteError(w, r, nil, err)
				return
			}
			d := l.Allow(r.Context(), rule, k)
			h := w.Header()
			h.Set("X-RateLimit-Limit", strconv.Itoa(rule.Limit))
			h.Set("X-RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
			h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(d.ResetAfter).Unix(), 10))
			if !d.Allowed {
				l.refused.WithLabelValues(rule.Name).Inc()
				h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.RetryAfter.Seconds())))))
				httpx.WriteError(w, r, nil, httpx.ErrRateLimited)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// normalized keeps a wiring mistake (a zero limit) from dividing by zero:
// it becomes the strictest rule instead.
func (r Rule) normalized() Rule {
	if r.Limit < 1 {
		r.Limit = 1
	}
	if r.Window <= 0 {
		r.Window = time.Minute
	}
	return r
}
