package health

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/modmono/shop/platform/httpx"
)

// DefaultCheckTimeout bounds each readiness check when HandlerOptions.Timeout is not set.
const DefaultCheckTimeout = 2 * time.Second

// Check is one dependency probe. Run returns nil when the dependency is usable;
// it must respect ctx, though a check that does not is still cut off.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
	// Degrades marks a dependency whose outage the process absorbs (the
	// broker, behind the outbox): its failure shows as "degraded" and the
	// process stays ready, since pulling it out of rotation would turn a
	// delay into an outage. Default: false, a failure unreadies.
	Degrades bool
}

// Registry holds the readiness checks. Its zero value is ready to use and it
// is safe for concurrent use, so modules can add checks while starting up.
type Registry struct {
	mu     sync.Mutex
	checks []Check
}

// Add registers c. A check with the same name as an earlier one replaces it,
// so names in the response stay unique.
func (r *Registry) Add(c Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.checks {
		if r.checks[i].Name == c.Name {
			r.checks[i] = c
			return
		}
	}
	r.checks = append(r.checks, c)
}

func (r *Registry) snapshot() []Check {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Check(nil), r.checks...)
}

// HandlerOptions configures Handler. The zero value is the production setting.
type HandlerOptions struct {
	// Verbose adds each failing check's error text to the response. Use it in
	// development only: errors can name hosts, users or queries. Default: false.
	Verbose bool
	// Timeout bounds each check. Default: DefaultCheckTimeout.
	Timeout time.Duration
	// Logger, when set, receives failing checks at Warn, so the reason is
	// recorded even when the response hides it. Default: none.
	Logger *zap.Logger
	// CacheFor is how long a result answers later probes; concurrent probes
	// share one run. Default: DefaultCacheFor; negative: every probe runs
	// the checks.
	CacheFor time.Duration
}

// DefaultCacheFor is how long a readiness result answers later probes when
// HandlerOptions.CacheFor is not set: short enough for an orchestrator's
// probe period, long enough that a flood of probes does not ping every pool
// and the broker each time.
const DefaultCacheFor = time.Second

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Errors map[string]string `json:"errors,omitempty"`
}

// result is one run of the checks, as answered.
type result struct {
	status int
	body   readiness
	at     time.Time
}

// Handler serves /health/ready: it runs every check in reg concurrently and
// answers 200 {"status":"ok","checks":{"name":"ok"}} when all pass, or 503
// {"status":"unavailable","checks":{"name":"fail"}} when any fails or times
// out, with "errors" added when o.Verbose is set. A failing check marked
// Degrades shows as "degraded" and, when no other check fails, the answer is
// 200 {"status":"degraded"}: the process still serves.
//
// A result answers every probe for o.CacheFor, and probes that arrive while
// the checks run wait for that run instead of starting their own.
func Handler(reg *Registry, o HandlerOptions) http.Handler {
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.CacheFor == 0 {
		o.CacheFor = DefaultCacheFor
	}
	var (
		mu      sync.Mutex
		last    *result
		running chan struct{} // closed when the run under way ends; nil when none
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for last == nil || o.CacheFor < 0 || time.Since(last.at) >= o.CacheFor {
			if running == nil {
				done := make(chan struct{})
				running = done
				mu.Unlock()
				// Not the request's context: other probes wait for this run,
				// and each check is bounded by o.Timeout anyway.
				res := check(context.WithoutCancel(r.Context()), reg, o)
				mu.Lock()
				last, running = &res, nil
				close(done)
				break
			}
			wait := running
			mu.Unlock()
			select {
			case <-wait:
			case <-r.Context().Done():
				return // the prober gave up
			}
			mu.Lock()
			if last != nil {
				break // the run it waited for is fresh enough for this probe
			}
		}
		res := *last
		mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, res.status, res.body)
	})
}

// check runs every check of reg concurrently and reports their results.
func check(ctx context.Context, reg *Registry, o HandlerOptions) result {
	checks := reg.snapshot()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = run(ctx, c, o.Timeout) })
	}
	wg.Wait()

	res := result{status: http.StatusOK, body: readiness{Status: "ok", Checks: make(map[string]string, len(checks))}, at: time.Now()}
	for i, c := range checks {
		if errs[i] == nil {
			res.body.Checks[c.Name] = "ok"
			continue
		}
		if c.Degrades {
			res.body.Checks[c.Name] = "degraded"
			if res.status == http.StatusOK {
				res.body.Status = "degraded"
			}
			o.Logger.Warn("readiness check failed: the process stays ready, degraded", zap.String("check", c.Name), zap.Error(errs[i]))
		} else {
			res.body.Status, res.body.Checks[c.Name], res.status = "unavailable", "fail", http.StatusServiceUnavailable
			o.Logger.Warn("readiness check failed", zap.String("check", c.Name), zap.Error(errs[i]))
		}
		if o.Verbose {
			if res.body.Errors == nil {
				res.body.Errors = map[string]string{}
			}
			res.body.Errors[c.Name] = errs[i].Error()
		}
	}
	return res
}

// run runs c under timeout. It returns when the deadline passes even if the
// check ignores its context; the check's goroutine then finishes on its own
// and its result is dropped. A panicking check fails instead of crashing.
func run(ctx context.Context, c Check, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("check panicked: %v", p)
			}
		}()
		if c.Run == nil {
			done <- fmt.Errorf("check has no Run func")
			return
		}
		done <- c.Run(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("timed out after %s: %w", timeout, ctx.Err())
	}
}

// Live serves /health/live: 200 {"status":"ok"} whenever the process can answer.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
