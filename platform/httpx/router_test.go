package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
)

// newTestRouter serves GET/PUT /products/{id}, a mounted /api sub-router and
// a handler that panics, with logs and metrics captured.
func newTestRouter(t *testing.T) (chi.Router, *prometheus.Registry, *observer.ObservedLogs) {
	t.Helper()
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	r := httpx.NewRouter(httpx.Options{Logger: zap.New(core), Registerer: reg})
	ok := func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	}
	r.Get("/products/{id}", ok)
	r.Put("/products/{id}", ok)
	r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	r.Route("/api", func(r chi.Router) { r.Get("/things/{id}", ok) })
	return r, reg, logs
}

func TestRouterProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		path      string
		status    int
		code      string
		wantAllow string
	}{
		{name: "matched", method: "GET", path: "/products/1", status: 200},
		{name: "unknown path", method: "GET", path: "/nope", status: 404, code: "http.not_found"},
		{name: "unknown path in sub-router", method: "GET", path: "/api/nope", status: 404, code: "http.not_found"},
		{name: "wrong method", method: "DELETE", path: "/products/1", status: 405, code: "http.method_not_allowed", wantAllow: "GET, PUT"},
		{name: "wrong method in sub-router", method: "POST", path: "/api/things/1", status: 405, code: "http.method_not_allowed", wantAllow: "GET"},
		{name: "unknown method", method: "BREW", path: "/products/1", status: 405, code: "http.method_not_allowed", wantAllow: "GET, PUT"},
		{name: "panic", method: "GET", path: "/panic", status: 500, code: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _, _ := newTestRouter(t)
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))

			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			id := rec.Header().Get(correlation.Header)
			if id == "" {
				t.Error("no correlation ID header")
			}
			if tt.code != "" {
				if p := readProblem(t, rec); p.Code != tt.code || p.Status != tt.status || p.CorrelationID != id {
					t.Errorf("problem = %+v, want %s with correlation_id %q", p, tt.code, id)
				}
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}

// sample is one gathered metric: its labels and its counter value or histogram count.
type sample struct {
	labels map[string]string
	value  float64
}

func gather(t *testing.T, reg *prometheus.Registry, name string) []sample {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			s := sample{labels: map[string]string{}, value: m.GetCounter().GetValue()}
			if h := m.GetHistogram(); h != nil {
				s.value = float64(h.GetSampleCount())
			}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			out = append(out, s)
		}
	}
	return out
}

func find(samples []sample, labels map[string]string) (float64, bool) {
next:
	for _, s := range samples {
		if len(s.labels) != len(labels) {
			continue
		}
		for k, v := range labels {
			if s.labels[k] != v {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func TestRouterMetrics(t *testing.T) {
	t.Parallel()
	r, reg, _ := newTestRouter(t)
	for _, req := range []struct{ method, path string }{
		{"GET", "/products/1"}, {"GET", "/products/2"}, {"GET", "/api/things/3"},
		{"GET", "/nope"}, {"GET", "/api/nope"}, {"DELETE", "/products/1"}, {"BREW", "/products/1"}, {"GET", "/panic"},
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}

	requests := gather(t, reg, "http_requests_total")
	for _, want := range []struct {
		method, route, status string
		n                     float64
	}{
		{"GET", "/products/{id}", "200", 2},
		{"GET", "/api/things/{id}", "200", 1},
		{"GET", "unmatched", "404", 2},
		{"DELETE", "unmatched", "405", 1},
		{"OTHER", "unmatched", "405", 1},
		{"GET", "/panic", "500", 1},
	} {
		got, ok := find(requests, map[string]string{"method": want.method, "route": want.route, "status": want.status})
		if !ok || got != want.n {
			t.Errorf("http_requests_total{%s %s %s} = %v, want %v (have %v)", want.method, want.route, want.status, got, want.n, requests)
		}
	}
	if got, ok := find(gather(t, reg, "http_request_duration_seconds"), map[string]string{"method": "GET", "route": "/products/{id}"}); !ok || got != 2 {
		t.Errorf("http_request_duration_seconds count = %v, want 2", got)
	}
}

func TestRouterLogsPanicAsServerError(t *testing.T) {
	t.Parallel()
	r, _, logs := newTestRouter(t)
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	var access map[string]any
	for _, e := range logs.FilterMessage("request").All() {
		access = e.ContextMap()
	}
	if access["status"] != int64(500) || access["route"] != "/panic" {
		t.Errorf("access log = %v, want status 500 on /panic", access)
	}
}

func TestRoutersShareARegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var routers []chi.Router
	for range 2 {
		r := httpx.NewRouter(httpx.Options{Registerer: reg}) // must not panic
		r.Get("/x", func(http.ResponseWriter, *http.Request) {})
		routers = append(routers, r)
	}
	for _, r := range routers {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	}
	if got, _ := find(gather(t, reg, "http_requests_total"), map[string]string{"method": "GET", "route": "/x", "status": "200"}); got != 2 {
		t.Errorf("count = %v, want 2 from both routers", got)
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := httpx.Server(":0", http.NotFoundHandler())
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes != 64<<10 {
		t.Errorf("server limits not all set: %+v", s)
	}
}
