package rpc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusOK)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health/ready" {
			t.Errorf("checked %s", r.URL.Path)
		}
		if status.Load() == 0 { // hang until the check gives up
			select {
			case <-block:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	p, err := newPool("m", []string{srv.URL}, 3, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	in := p.instances[0]
	var changes []bool
	in.onChange = func(_ string, up bool) { changes = append(changes, up) }
	client := srv.Client()

	for _, step := range []struct {
		name    string
		status  int32
		ctx     func() context.Context
		timeout time.Duration
		up      bool
	}{
		{"ready", http.StatusOK, t.Context, 5 * time.Second, true},
		{"not ready", http.StatusServiceUnavailable, t.Context, 5 * time.Second, false},
		{"ready again", http.StatusOK, t.Context, 5 * time.Second, true},
		{"hangs", 0, t.Context, 20 * time.Millisecond, false},
		{"ready once more", http.StatusOK, t.Context, 5 * time.Second, true},
		{"shutting down", 0, func() context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx
		}, 5 * time.Second, true},
	} {
		status.Store(step.status)
		in.check(step.ctx(), client, step.timeout)
		if in.up.Load() != step.up {
			t.Fatalf("%s: up %v, want %v", step.name, in.up.Load(), step.up)
		}
	}
	if want := []bool{false, true, false, true}; len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}

	// A check that passes clears the failures of an ejected instance.
	status.Store(http.StatusOK)
	in.failed(nil)
	in.failed(nil)
	in.failed(nil)
	if in.up.Load() {
		t.Fatal("not ejected after 3 failures")
	}
	in.check(t.Context(), client, 5*time.Second)
	if !in.up.Load() || in.failures.Load() != 0 {
		t.Fatalf("up %v, failures %d", in.up.Load(), in.failures.Load())
	}
	in.failed(nil)
	if !in.up.Load() {
		t.Fatal("ejected again after one failure")
	}
}

// watch checks at once and then every interval, and returns when its context ends.
func TestWatch(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checks.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	p, err := newPool("m", []string{srv.URL, srv.URL + "/"}, 3, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.watch(ctx, 5*time.Millisecond, srv.Client()); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for checks.Load() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("%d checks", checks.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not return")
	}
}
