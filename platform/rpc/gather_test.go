package rpc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/rpc"
)

// part serves a process's own part of a view at /internal/admin/part,
// behind service tokens as platform/host does.
func part(t *testing.T, answer string, delay time.Duration) *httptest.Server {
	t.Helper()
	root := chi.NewRouter()
	internal := chi.NewRouter()
	internal.Use(newTokens().RequireService)
	internal.Get("/admin/part", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer))
	})
	internal.Post("/admin/missing", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, nil, apperr.New(apperr.KindNotFound, "test.missing", "no such thing"))
	})
	root.Mount(rpc.PathPrefix, internal)
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

// TestGather: modules of one process are asked once; every process is
// asked at once, each within the timeout; one that fails or is too slow
// has its error while the others' answers are there.
func TestGather(t *testing.T) {
	t.Parallel()
	fast := part(t, `{"n":1}`, 0)
	slow := part(t, `{"n":2}`, 5*time.Second)
	down := part(t, `{}`, 0)
	down.Close()
	cfg := config.Config{Remotes: map[string][]string{
		"alpha": {fast.URL}, "beta": {fast.URL}, // one process running two modules
		"gamma": {slow.URL},
		"delta": {down.URL},
	}}
	remotes, err := rpc.NewRemotes(cfg, newTokens(), newRegistry(), rpc.Options{}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	procs := remotes.Processes()
	var modules [][]string
	for _, p := range procs {
		modules = append(modules, p.Modules)
	}
	if want := [][]string{{"alpha", "beta"}, {"delta"}, {"gamma"}}; !slices.EqualFunc(modules, want, slices.Equal) {
		t.Fatalf("processes %v, want %v", modules, want)
	}

	start := time.Now()
	answers := rpc.Gather[struct{ N int }](context.Background(), remotes, "/admin/part", 300*time.Millisecond)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("gathering took %v: the processes were not asked at once, or the timeout was not kept", took)
	}
	if len(answers) != 3 || answers[0].Err != nil || answers[0].Value.N != 1 {
		t.Fatalf("answers %+v", answers)
	}
	if answers[1].Err == nil || answers[2].Err == nil {
		t.Errorf("a process down and a process too slow answered: %+v", answers)
	}
	if got := rpc.Failed(answers); !slices.Equal(got, []string{"delta", "gamma"}) {
		t.Errorf("Failed = %v", got)
	}

	// A problem answer comes back as its error, matched by code.
	missing := apperr.New(apperr.KindNotFound, "test.missing", "")
	if err := remotes.Ask(context.Background(), procs[0], "POST", "/admin/missing", nil, nil); !errors.Is(err, missing) {
		t.Errorf("Ask of a missing thing: %v", err)
	}
}
