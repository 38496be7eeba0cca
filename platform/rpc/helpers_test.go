package rpc_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/problem"
	"github.com/modmono/shop/platform/rpc"
)

// module is the name the test interface is served under.
const module = "greeter"

var secret = []byte(strings.Repeat("s", 40))

// Reply and Input are the result and argument types of the test interface.
type Reply struct {
	Greeting string `json:"greeting"`
	Count    int    `json:"count"`
}

type Input struct {
	Name  string `json:"name"`
	Times int    `json:"times"`
}

// Greeter is the module interface served over rpc in these tests.
type Greeter interface {
	Hello(ctx context.Context, name string) (Reply, error)            // idempotent
	Greet(ctx context.Context, in Input, excited bool) (Reply, error) // not idempotent
	Ping(ctx context.Context) error                                   // idempotent, error only
	Poke(ctx context.Context) error                                   // not idempotent, error only
}

// greeterClient is a hand-written stub, shaped like the generated
// modules/*/*api/client_gen.go.
type greeterClient struct{ rpc *rpc.Client }

func (c greeterClient) Hello(ctx context.Context, name string) (Reply, error) {
	var out Reply
	err := c.rpc.Call(ctx, "Hello", true, &out, name)
	return out, err
}

func (c greeterClient) Greet(ctx context.Context, in Input, excited bool) (Reply, error) {
	var out Reply
	err := c.rpc.Call(ctx, "Greet", false, &out, in, excited)
	return out, err
}

func (c greeterClient) Ping(ctx context.Context) error {
	return c.rpc.Call(ctx, "Ping", true, nil)
}

func (c greeterClient) Poke(ctx context.Context) error {
	return c.rpc.Call(ctx, "Poke", false, nil)
}

// fake implements Greeter. Every method first counts itself and asks hook
// (when set) for an error to return instead of its result.
type fake struct {
	calls atomic.Int32
	mu    sync.Mutex
	hook  func(ctx context.Context, method string) error
}

func (f *fake) setHook(h func(ctx context.Context, method string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fake) enter(ctx context.Context, method string) error {
	f.calls.Add(1)
	f.mu.Lock()
	h := f.hook
	f.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(ctx, method)
}

func (f *fake) Hello(ctx context.Context, name string) (Reply, error) {
	if err := f.enter(ctx, "Hello"); err != nil {
		return Reply{}, err
	}
	return Reply{Greeting: "hello " + name, Count: 1}, nil
}

func (f *fake) Greet(ctx context.Context, in Input, excited bool) (Reply, error) {
	if err := f.enter(ctx, "Greet"); err != nil {
		return Reply{}, err
	}
	g := strings.Repeat("hi "+in.Name+" ", in.Times)
	if excited {
		g += "!"
	}
	return Reply{Greeting: g, Count: in.Times}, nil
}

func (f *fake) Ping(ctx context.Context) error { return f.enter(ctx, "Ping") }
func (f *fake) Poke(ctx context.Context) error { return f.enter(ctx, "Poke") }

// failWith makes every method return err.
func failWith(err error) func(context.Context, string) error {
	return func(context.Context, string) error { return err }
}

// Errors the fake module returns.
var (
	errNotFound = apperr.New(apperr.KindNotFound, "x.not_found", "no such greeting")
	errInternal = errors.New("pq: password authentication failed for user admin")
)

// newTokens returns the service tokens every test process shares.
func newTokens() *auth.ServiceTokens { return auth.NewServiceTokens(secret, "test") }

// serve mounts impl the way platform/host does (under PathPrefix, behind
// RequireService) with /health/ready answering 200, and returns the server.
func serve(t *testing.T, impl Greeter, tokens *auth.ServiceTokens) *httptest.Server {
	t.Helper()
	root := chi.NewRouter()
	root.Get("/health/ready", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	internal := chi.NewRouter()
	internal.Use(tokens.RequireService)
	rpc.Mount[Greeter](internal, module, impl, zap.NewNop())
	root.Mount(rpc.PathPrefix, internal)
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

// serveFunc serves h and counts the requests it gets. The body is read
// first, as the rpc server does: only then does net/http notice a client
// that hangs up, and end the request's context.
func serveFunc(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// unreachable is a base URL nobody listens on. (The URL of a closed test
// server is not: the port can be given to another test's server.)
const unreachable = "http://127.0.0.1:0"

// hangUp closes the connection without an answer: a transport failure.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// fastRetries are options whose retries do not slow the tests down.
func fastRetries() rpc.Options {
	return rpc.Options{RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond}
}

// newClient returns a client of the greeter module at bases, built through
// NewRemotes so its metrics land in the returned registry.
func newClient(t *testing.T, opts rpc.Options, bases ...string) (*rpc.Client, Greeter, *prometheus.Registry) {
	t.Helper()
	return newClientWith(t, newTokens(), opts, bases...)
}

func newClientWith(t *testing.T, tokens *auth.ServiceTokens, opts rpc.Options, bases ...string) (*rpc.Client, Greeter, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := config.Config{Remotes: map[string][]string{module: bases}}
	remotes, err := rpc.NewRemotes(cfg, tokens, reg, opts, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c, err := remotes.Client(module)
	if err != nil {
		t.Fatal(err)
	}
	return c, greeterClient{c}, reg
}

// metric returns the value of the gauge or counter name whose labels
// include want, or -1 when there is none.
func metric(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// eventually polls cond until it holds, failing the test after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// post sends body to the greeter's method with the service token header
// set to token (none when empty) and returns the status and problem.
func post(t *testing.T, base, method, body, token string, header ...string) (int, problem.Problem) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+rpc.PathPrefix+"/"+module+"/"+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set(auth.ServiceHeader, token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p problem.Problem
	if resp.Header.Get("Content-Type") == problem.ContentType {
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("problem %q: %v", b, err)
		}
	} else if resp.StatusCode >= 400 {
		t.Fatalf("status %d without a problem: %q", resp.StatusCode, b)
	}
	if bytes.Contains(b, []byte("password")) {
		t.Fatalf("the answer leaks an internal error: %s", b)
	}
	return resp.StatusCode, p
}

// serviceKey derives the service-token key the way auth.NewServiceTokens
// does. Every process of a deployment must derive the same key, so the
// derivation is pinned here as well.
func serviceKey() []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("shop service tokens v1"))
	return mac.Sum(nil)
}

func chiRouter() chi.Router { return chi.NewRouter() }

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
