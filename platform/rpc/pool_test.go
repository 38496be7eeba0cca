package rpc_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/rpc"
)

// instance is a remote instance whose calls and health can be switched.
type instance struct {
	url     string
	calls   *atomic.Int32
	failing atomic.Bool // calls answer 500
	ready   atomic.Bool // /health/ready answers 200, else 503
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	in := &instance{}
	in.ready.Store(true)
	var calls atomic.Int32
	in.calls = &calls
	srv, _ := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health/ready" {
			if in.ready.Load() {
				w.WriteHeader(http.StatusOK)
			} else {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		if !strings.HasPrefix(r.URL.Path, rpc.PathPrefix+"/") {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		}
		calls.Add(1)
		if in.failing.Load() {
			answerInternal(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	in.url = srv.URL
	return in
}

// poolOpts never open the breaker or retry, so each call is one attempt.
func poolOpts() rpc.Options {
	return rpc.Options{MaxAttempts: 1, BreakerFailures: 1000, EjectAfter: 2}
}

func TestRoundRobin(t *testing.T) {
	t.Parallel()
	a, b := newInstance(t), newInstance(t)
	_, g, _ := newClient(t, poolOpts(), a.url, b.url+"/") // a trailing slash is fine
	for range 10 {
		if err := g.Poke(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if a.calls.Load() != 5 || b.calls.Load() != 5 {
		t.Fatalf("calls: a %d, b %d", a.calls.Load(), b.calls.Load())
	}
}

func TestEjection(t *testing.T) {
	t.Parallel()
	a, b := newInstance(t), newInstance(t)
	b.failing.Store(true)
	_, g, reg := newClient(t, poolOpts(), a.url, b.url)
	up := func(in *instance) float64 {
		return metric(t, reg, "rpc_instance_up", map[string]string{"remote": module, "instance": in.url})
	}
	if up(a) != 1 || up(b) != 1 {
		t.Fatalf("instances up: a %v, b %v", up(a), up(b))
	}
	for b.calls.Load() < 2 { // round robin reaches b soon
		_ = g.Poke(t.Context())
		if a.calls.Load() > 10 {
			t.Fatal("b never got a call")
		}
	}
	if up(b) != 0 || up(a) != 1 {
		t.Fatalf("after 2 failures: a %v, b %v", up(a), up(b))
	}
	before := a.calls.Load()
	for range 10 {
		if err := g.Poke(t.Context()); err != nil {
			t.Fatalf("with b ejected: %v", err)
		}
	}
	if b.calls.Load() != 2 || a.calls.Load() != before+10 {
		t.Fatalf("calls after the ejection: a %d (+%d), b %d", a.calls.Load(), a.calls.Load()-before, b.calls.Load())
	}
}

// With every instance ejected, calls still try them.
func TestAllEjected(t *testing.T) {
	t.Parallel()
	a, b := newInstance(t), newInstance(t)
	a.failing.Store(true)
	b.failing.Store(true)
	_, g, reg := newClient(t, poolOpts(), a.url, b.url)
	for range 4 {
		_ = g.Poke(t.Context())
	}
	for _, in := range []*instance{a, b} {
		if got := metric(t, reg, "rpc_instance_up", map[string]string{"instance": in.url}); got != 0 {
			t.Fatalf("%s is up (%v)", in.url, got)
		}
	}
	a.failing.Store(false)
	b.failing.Store(false)
	for range 4 {
		if err := g.Poke(t.Context()); err != nil {
			t.Fatalf("with every instance ejected: %v", err)
		}
	}
	if a.calls.Load() != 4 || b.calls.Load() != 4 {
		t.Fatalf("calls: a %d, b %d", a.calls.Load(), b.calls.Load())
	}
}

// The health checks of Remotes eject an instance that is not ready and
// bring it back when it is.
func TestHealthChecks(t *testing.T) {
	t.Parallel()
	a, b := newInstance(t), newInstance(t)
	b.ready.Store(false)
	reg := newRegistry()
	opts := poolOpts()
	opts.HealthInterval = 500 * time.Millisecond
	remotes, err := rpc.NewRemotes(config.Config{Remotes: map[string][]string{module: {a.url, b.url}}}, newTokens(), reg, opts, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c, err := remotes.Client(module)
	if err != nil {
		t.Fatal(err)
	}
	g := greeterClient{c}
	remotes.Start()
	t.Cleanup(remotes.Stop)
	up := func(in *instance) float64 {
		return metric(t, reg, "rpc_instance_up", map[string]string{"instance": in.url})
	}
	eventually(t, "b is ejected", func() bool { return up(b) == 0 })
	for range 10 {
		if err := g.Poke(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.calls.Load(); got != 0 {
		t.Fatalf("the ejected instance got %d calls", got)
	}
	b.ready.Store(true)
	eventually(t, "b is back", func() bool { return up(b) == 1 })
	eventually(t, "b gets calls again", func() bool {
		if err := g.Poke(t.Context()); err != nil {
			t.Fatal(err)
		}
		return b.calls.Load() > 0
	})
}

// An instance ejected because its calls failed comes back through the
// health checks.
func TestEjectedByCallsBackByHealth(t *testing.T) {
	t.Parallel()
	a, b := newInstance(t), newInstance(t)
	reg := newRegistry()
	opts := poolOpts()
	opts.HealthInterval = 500 * time.Millisecond
	remotes, err := rpc.NewRemotes(config.Config{Remotes: map[string][]string{module: {a.url, b.url}}}, newTokens(), reg, opts, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := remotes.Client(module)
	g := greeterClient{c}
	remotes.Start()
	t.Cleanup(remotes.Stop)
	b.failing.Store(true)
	for b.calls.Load() < 2 {
		if err := g.Poke(t.Context()); err != nil && !errors.Is(err, rpc.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	b.failing.Store(false)
	eventually(t, "b gets calls again", func() bool {
		_ = g.Poke(t.Context())
		return b.calls.Load() > 2
	})
}

func TestRemotes(t *testing.T) {
	t.Parallel()
	cfg := config.Config{Remotes: map[string][]string{"b": {"http://b:1"}, "a": {"http://a:1"}}}
	r, err := rpc.NewRemotes(cfg, newTokens(), newRegistry(), rpc.Options{}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Modules(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("modules %v", got)
	}
	if c, err := r.Client("a"); err != nil || c.Module() != "a" {
		t.Fatalf("%v %v", c, err)
	}
	if _, err := r.Client("c"); err == nil {
		t.Fatal("a client of an unknown module")
	}
	r.Stop() // before Start: nothing to stop
	r.Start()
	r.Stop()

	none, err := rpc.NewRemotes(config.Config{}, newTokens(), newRegistry(), rpc.Options{}, zap.NewNop())
	if err != nil || len(none.Modules()) != 0 {
		t.Fatalf("%v %v", none.Modules(), err)
	}
	none.Start()
	none.Stop()

	bad := config.Config{Remotes: map[string][]string{"a": {"not a url"}}}
	if _, err := rpc.NewRemotes(bad, newTokens(), newRegistry(), rpc.Options{}, zap.NewNop()); err == nil {
		t.Fatal("a bad base URL accepted")
	}
}

// Provide hands fx a module's API as a client of its remote instances, and
// Lifecycle runs the health checks while the application runs.
func TestProvide(t *testing.T) {
	t.Parallel()
	srv := serve(t, &fake{}, newTokens())
	remotes, err := rpc.NewRemotes(config.Config{Remotes: map[string][]string{module: {srv.URL}}}, newTokens(), newRegistry(), rpc.Options{}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	newAPI := func(c *rpc.Client) Greeter { return greeterClient{c} }
	var g Greeter
	app := fx.New(fx.NopLogger, fx.Supply(remotes), rpc.Provide(module, newAPI), fx.Invoke(rpc.Lifecycle), fx.Populate(&g))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = app.Stop(t.Context()) }()
	if got, err := g.Hello(t.Context(), "fx"); err != nil || got.Greeting != "hello fx" {
		t.Fatalf("%+v %v", got, err)
	}

	other := fx.New(fx.NopLogger, fx.Supply(remotes), rpc.Provide("elsewhere", newAPI), fx.Populate(&g))
	if err := other.Err(); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		t.Fatalf("a module that is not remote: %v", err)
	}
}
