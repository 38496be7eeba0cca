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
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Errors map[string]string `json:"errors,omitempty"`
}

// Handler serves /health/ready: it runs every check in reg concurrently and
// answers 200 {"status":"ok","checks":{"name":"ok"}} when all pass, or 503
// {"status":"unavailable","checks":{"name":"fail"}} when any fails or times
// out, with "errors" added when o.Verbose is set.
func Handler(reg *Registry, o HandlerOptions) http.Handler {
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checks := reg.snapshot()
		errs := make([]error, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() { errs[i] = run(r.Context(), c, o.Timeout) })
		}
		wg.Wait()

		res := readiness{Status: "ok", Checks: make(map[string]string, len(checks))}
		status := http.StatusOK
		for i, c := range checks {
			if errs[i] == nil {
				res.Checks[c.Name] = "ok"
				continue
			}
			res.Status, res.Checks[c.Name], status = "unavailable", "fail", http.StatusServiceUnavailable
			o.Logger.Warn("readiness check failed", zap.String("check", c.Name), zap.Error(errs[i]))
			if o.Verbose {
				if res.Errors == nil {
					res.Errors = map[string]string{}
				}
				res.Errors[c.Name] = errs[i].Error()
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, status, res)
	})
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
