package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modmono/shop/platform/health"
)

type body struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Errors map[string]string `json:"errors"`
}

func ok(context.Context) error { return nil }

func failing(context.Context) error { return errors.New("SECRET dial tcp 10.0.0.7:5432: refused") }

func TestReady(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	tests := []struct {
		name       string
		checks     []health.Check
		verbose    bool
		status     int
		want       body
		wantSecret bool
	}{
		{name: "no checks", status: 200, want: body{Status: "ok", Checks: map[string]string{}}},
		{name: "all pass", checks: []health.Check{{Name: "db", Run: ok}, {Name: "bus", Run: ok}}, status: 200,
			want: body{Status: "ok", Checks: map[string]string{"db": "ok", "bus": "ok"}}},
		{name: "one fails, prod hides why", checks: []health.Check{{Name: "db", Run: failing}, {Name: "bus", Run: ok}}, status: 503,
			want: body{Status: "unavailable", Checks: map[string]string{"db": "fail", "bus": "ok"}}},
		{name: "one fails, dev shows why", checks: []health.Check{{Name: "db", Run: failing}, {Name: "bus", Run: ok}}, verbose: true, status: 503,
			want: body{Status: "unavailable", Checks: map[string]string{"db": "fail", "bus": "ok"},
				Errors: map[string]string{"db": "SECRET dial tcp 10.0.0.7:5432: refused"}}, wantSecret: true},
		{name: "a check that ignores its deadline fails", checks: []health.Check{{Name: "stuck", Run: func(context.Context) error {
			<-stuck // without the cut-off the handler would never answer
			return nil
		}}}, status: 503, want: body{Status: "unavailable", Checks: map[string]string{"stuck": "fail"}}},
		{name: "a check that panics fails", checks: []health.Check{{Name: "boom", Run: func(context.Context) error { panic("SECRET") }}},
			status: 503, want: body{Status: "unavailable", Checks: map[string]string{"boom": "fail"}}},
		{name: "a check without Run fails", checks: []health.Check{{Name: "empty"}},
			status: 503, want: body{Status: "unavailable", Checks: map[string]string{"empty": "fail"}}},
		{name: "a degrading check that fails leaves the process ready", checks: []health.Check{{Name: "bus", Run: failing, Degrades: true}, {Name: "db", Run: ok}},
			status: 200, want: body{Status: "degraded", Checks: map[string]string{"bus": "degraded", "db": "ok"}}},
		{name: "a failing check wins over a degrading one", checks: []health.Check{{Name: "bus", Run: failing, Degrades: true}, {Name: "db", Run: failing}},
			status: 503, want: body{Status: "unavailable", Checks: map[string]string{"bus": "degraded", "db": "fail"}}},
		{name: "a degrading check that passes is ok", checks: []health.Check{{Name: "bus", Run: ok, Degrades: true}},
			status: 200, want: body{Status: "ok", Checks: map[string]string{"bus": "ok"}}},
		{name: "a later check replaces one of the same name", checks: []health.Check{{Name: "db", Run: failing}, {Name: "db", Run: ok}}, status: 200,
			want: body{Status: "ok", Checks: map[string]string{"db": "ok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var reg health.Registry
			for _, c := range tt.checks {
				reg.Add(c)
			}
			h := health.Handler(&reg, health.HandlerOptions{Verbose: tt.verbose, Timeout: 50 * time.Millisecond})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", nil))

			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			var got body
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("body = %+v, want %+v", got, tt.want)
			}
			if !tt.wantSecret && (strings.Contains(rec.Body.String(), "SECRET") || strings.Contains(rec.Body.String(), "errors")) {
				t.Errorf("body leaks internals: %s", rec.Body.String())
			}
		})
	}
}

func TestChecksRunConcurrently(t *testing.T) {
	t.Parallel()
	var reg health.Registry
	// Each check waits for the other: run one after the other, both time out.
	a, b := make(chan struct{}), make(chan struct{})
	reg.Add(health.Check{Name: "a", Run: func(ctx context.Context) error { close(a); <-b; return nil }})
	reg.Add(health.Check{Name: "b", Run: func(ctx context.Context) error { close(b); <-a; return nil }})
	rec := httptest.NewRecorder()
	health.Handler(&reg, health.HandlerOptions{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200: %s", rec.Code, rec.Body.String())
	}
}

func TestRegistryIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	var reg health.Registry
	h := health.Handler(&reg, health.HandlerOptions{CacheFor: -1}) // the last answer must see every check
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { reg.Add(health.Check{Name: fmt.Sprint("c", i), Run: ok}) })
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health/ready", nil)) })
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", nil))
	var got body
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Checks) != 20 {
		t.Errorf("checks = %v, %v; want 20", got.Checks, err)
	}
}

// A flood of probes runs the checks once per CacheFor, not once per request:
// concurrent requests share one run, later ones reuse its result until it is
// CacheFor old.
func TestResultsAreSharedAndCachedBriefly(t *testing.T) {
	t.Parallel()
	var reg health.Registry
	var runs atomic.Int32
	release := make(chan struct{})
	reg.Add(health.Check{Name: "db", Run: func(context.Context) error {
		runs.Add(1)
		<-release
		return nil
	}})
	const cacheFor = 200 * time.Millisecond
	h := health.Handler(&reg, health.HandlerOptions{CacheFor: cacheFor})
	probe := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", nil))
		return rec.Code
	}
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i] = probe() })
	}
	time.Sleep(50 * time.Millisecond) // let the requests pile up behind the first run
	close(release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("request %d: status %d", i, c)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("50 concurrent probes ran the check %d times, want 1", n)
	}
	probe()
	if n := runs.Load(); n != 1 {
		t.Fatalf("a probe within CacheFor ran the check again (%d runs)", n)
	}
	time.Sleep(cacheFor + 50*time.Millisecond)
	probe()
	if n := runs.Load(); n != 2 {
		t.Fatalf("a probe after CacheFor: %d runs, want 2", n)
	}
}

func TestLive(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	health.Live().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/live", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}
