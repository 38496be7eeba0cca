package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/httpx"
)

// testRedis is the Redis the tests share (scripts/services.sh starts it).
const testRedis = "redis://127.0.0.1:6379/0"

// uniquePrefix keeps each test's keys apart from other tests and runs.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), rand.Uint64())
}

func dialRedis(t *testing.T) *redis.Client {
	t.Helper()
	c, err := Dial(testRedis, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis on %s (scripts/services.sh redis starts it): %v", testRedis, err)
	}
	return c
}

// Every store keeps the same budget: a burst of Limit, then one more each
// Window/Limit, per rule and key.
func TestStores(t *testing.T) {
	t.Parallel()
	for name, newStore := range map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemory() },
		"redis":  func(t *testing.T) Store { return NewRedis(dialRedis(t), uniquePrefix(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			ctx := context.Background()
			rule := Rule{Name: "test.login", Limit: 3, Window: 600 * time.Millisecond}
			for i := range 3 {
				d, err := s.Allow(ctx, rule, "a")
				if err != nil || !d.Allowed || d.Remaining != 2-i {
					t.Fatalf("request %d: %+v, %v", i+1, d, err)
				}
			}
			d, err := s.Allow(ctx, rule, "a")
			if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 200*time.Millisecond {
				t.Fatalf("over the budget: %+v, %v", d, err)
			}
			if d, _ := s.Allow(ctx, rule, "b"); !d.Allowed {
				t.Fatal("another key was refused")
			}
			if d, _ := s.Allow(ctx, Rule{Name: "test.register", Limit: 3, Window: time.Minute}, "a"); !d.Allowed {
				t.Fatal("another rule was refused")
			}
			time.Sleep(d.RetryAfter + 20*time.Millisecond)
			if d, _ := s.Allow(ctx, rule, "a"); !d.Allowed {
				t.Fatalf("refused after waiting Retry-After: %+v", d)
			}
			if d, _ := s.Allow(ctx, rule, "a"); d.Allowed {
				t.Fatal("one request back admitted two")
			}
		})
	}
}

// Two instances (two limiters, each with its own connection) given the same
// Redis count one budget.
func TestInstancesShareOneBudgetInRedis(t *testing.T) {
	t.Parallel()
	prefix := uniquePrefix(t)
	var instances []http.Handler
	for range 2 {
		l, err := New(NewRedis(dialRedis(t), prefix), Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, l.Limit(Rule{Name: "login", Limit: 4, Window: time.Minute}, httpx.ByClientIP)(ok))
	}
	for i := range 4 {
		if rec := send(instances[i%2], "192.0.2.1:1"); rec.Code != 200 {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
	for i, h := range instances {
		if rec := send(h, "192.0.2.1:1"); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("instance %d over the shared budget: %d", i+1, rec.Code)
		}
	}
}

// Without Redis, or with one that does not answer, requests are still
// decided: in this process's memory, within the timeout, with the failure
// counted once a cooldown rather than once a request.
func TestUnreachableRedisFailsOpenToMemory(t *testing.T) {
	t.Parallel()
	for name, addr := range map[string]string{
		"refused": closedPort(t),
		"silent":  silentServer(t),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			client, err := Dial("redis://"+addr+"/0", 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Close() })
			reg := prometheus.NewRegistry()
			l, err := New(NewRedis(client, uniquePrefix(t)), Options{Timeout: 50 * time.Millisecond, Cooldown: time.Minute, Registerer: reg, Logger: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			h := l.Limit(Rule{Name: "login", Limit: 3, Window: time.Minute}, httpx.ByClientIP)(ok)
			start := time.Now()
			for i := range 3 {
				if rec := send(h, "192.0.2.1:1"); rec.Code != 200 {
					t.Fatalf("request %d with Redis down: %d", i+1, rec.Code)
				}
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("three requests with Redis down took %s", took)
			}
			if rec := send(h, "192.0.2.1:1"); rec.Code != http.StatusTooManyRequests {
				t.Fatalf("the process's own limit does not hold with Redis down: %d", rec.Code)
			}
			if n := testutil.ToFloat64(l.storeErrors); n != 1 {
				t.Fatalf("store errors counted: %v, want 1 (then the store is left alone for the cooldown)", n)
			}
			if n, err := testutil.GatherAndCount(reg, "http_rate_limit_store_state"); err != nil || n != 1 {
				t.Fatalf("state metric: %d, %v", n, err)
			}
		})
	}
}

// A shared store that comes back is used again after the cooldown.
func TestStoreIsTriedAgainAfterTheCooldown(t *testing.T) {
	t.Parallel()
	flaky := &flakyStore{Store: NewMemory(), fail: true}
	l, err := New(flaky, Options{Cooldown: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rule := Rule{Name: "login", Limit: 100, Window: time.Minute}
	l.Allow(context.Background(), rule, "a")
	flaky.fail = false
	l.Allow(context.Background(), rule, "a")
	if flaky.calls != 1 {
		t.Fatalf("store called %d times within the cooldown, want 1", flaky.calls)
	}
	time.Sleep(150 * time.Millisecond)
	l.Allow(context.Background(), rule, "a")
	l.Allow(context.Background(), rule, "a")
	if flaky.calls != 3 {
		t.Fatalf("store called %d times, want 3 (back in use after the cooldown)", flaky.calls)
	}
}

func TestLimitAnswersProblemsWithRetryAfter(t *testing.T) {
	t.Parallel()
	l, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Limit(Rule{Name: "login", Limit: 3, Window: time.Minute}, httpx.ByClientIP)(ok)
	for i := range 3 {
		rec := send(h, "10.0.0.1:1234")
		if rec.Code != 200 || rec.Header().Get("X-RateLimit-Limit") != "3" || rec.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v", i, rec.Code, rec.Header())
		}
	}
	rec := send(h, "10.0.0.1:9999")
	if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("4th request: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 || s > 20 {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	if reset, err := strconv.ParseInt(rec.Header().Get("X-RateLimit-Reset"), 10, 64); err != nil || reset < time.Now().Unix() {
		t.Fatalf("X-RateLimit-Reset %q", rec.Header().Get("X-RateLimit-Reset"))
	}
	if rec := send(h, "10.0.0.2:1234"); rec.Code != 200 {
		t.Fatalf("another client was limited: %d", rec.Code)
	}
}

// The memory store forgets a key once its budget is whole again.
func TestMemoryForgetsWholeBudgets(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	m := newMemory(func() time.Time { return now })
	rule := Rule{Name: "login", Limit: 2, Window: time.Minute}
	for i := range 100 {
		_, _ = m.Allow(context.Background(), rule, strconv.Itoa(i))
	}
	if m.size() != 100 {
		t.Fatalf("size %d", m.size())
	}
	now = now.Add(sweepEvery)
	_, _ = m.Allow(context.Background(), rule, "new")
	if m.size() != 1 {
		t.Fatalf("after a window: %d keys held, want 1", m.size())
	}
}

var ok = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

func send(h http.Handler, addr string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentServer accepts connections and never answers: a Redis that hangs.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns, accepting := make(chan net.Conn, 100), make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-accepting
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	return ln.Addr().String()
}

type flakyStore struct {
	Store
	fail  bool
	calls int
}

func (s *flakyStore) Allow(ctx context.Context, rule Rule, key string) (Decision, error) {
	s.calls++
	if s.fail {
		return Decision{}, fmt.Errorf("store down")
	}
	return s.Store.Allow(ctx, rule, key)
}
