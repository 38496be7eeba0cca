package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/telemetry"
)

func TestCorrelation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		id     string // sent X-Correlation-ID
		wantID string // "" means a fresh UUID
	}{
		{name: "generated when missing"},
		{name: "echoed when valid", id: "req-42:a.b_c", wantID: "req-42:a.b_c"},
		{name: "replaced when it has bad characters", id: "bad id\r\nX-Evil: 1"},
		{name: "replaced when too long", id: strings.Repeat("a", 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotID string
			h := httpx.Correlation(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				gotID = correlation.ID(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.id != "" {
				r.Header.Set(correlation.Header, tt.id)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if tt.wantID != "" && gotID != tt.wantID {
				t.Errorf("context ID = %q, want %q", gotID, tt.wantID)
			}
			if tt.wantID == "" {
				if _, err := uuid.Parse(gotID); err != nil {
					t.Errorf("context ID = %q, want a fresh UUID", gotID)
				}
			}
			if echoed := rec.Header().Get(correlation.Header); echoed != gotID {
				t.Errorf("echoed ID = %q, want %q", echoed, gotID)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	h := httpx.Correlation(httpx.Recover(zap.New(core))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("SECRET boom")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))

	p := readProblem(t, rec)
	id := rec.Header().Get(correlation.Header)
	if rec.Code != 500 || p.Code != "internal" || p.CorrelationID != id || id == "" {
		t.Errorf("answered %d %+v, want 500 internal with correlation_id %q", rec.Code, p, id)
	}
	if strings.Contains(rec.Body.String(), "SECRET") {
		t.Errorf("body leaks the panic: %s", rec.Body.String())
	}
	entries := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	if len(entries) != 1 {
		t.Fatalf("logged %d errors, want 1", len(entries))
	}
	f := entries[0].ContextMap()
	if f["correlation_id"] != id || !strings.Contains(f["stack"].(string), "TestRecover") || f["panic"] != "SECRET boom" {
		t.Errorf("log fields = %v", f)
	}
}

func TestRecoverAborts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{name: "ErrAbortHandler is re-panicked", handler: func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }},
		{name: "a started response is aborted", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"items":[`))
			panic("boom")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if p := recover(); p != http.ErrAbortHandler { // net/http compares it the same way
					t.Errorf("recovered %v, want http.ErrAbortHandler", p)
				}
			}()
			httpx.Recover(nil)(tt.handler).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		})
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name   string
		path   string
		status int
		level  zapcore.Level
	}{
		{name: "ordinary request at info", path: "/products", status: 200, level: zapcore.InfoLevel},
		{name: "client error at info", path: "/products", status: 404, level: zapcore.InfoLevel},
		{name: "server error at error", path: "/products", status: 502, level: zapcore.ErrorLevel},
		{name: "readiness at debug", path: "/health/ready", status: 200, level: zapcore.DebugLevel},
		{name: "metrics at debug", path: "/metrics", status: 200, level: zapcore.DebugLevel},
		{name: "failing health at error", path: "/health/ready", status: 503, level: zapcore.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.DebugLevel)
			h := httpx.Correlation(httpx.AccessLog(zap.New(core))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte("hello"))
			})))
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r = r.WithContext(telemetry.WithTraceparent(r.Context(), tp)) // the request's span, as Trace leaves it
			h.ServeHTTP(httptest.NewRecorder(), r)

			entries := logs.All()
			if len(entries) != 1 {
				t.Fatalf("logged %d lines, want 1", len(entries))
			}
			e := entries[0]
			f := e.ContextMap()
			if e.Level != tt.level {
				t.Errorf("level = %v, want %v", e.Level, tt.level)
			}
			if f["method"] != "GET" || f["path"] != tt.path || f["status"] != int64(tt.status) || f["bytes"] != int64(5) ||
				f["route"] != "unmatched" || f["remote"] != r.RemoteAddr || f["trace_id"] != tp[3:35] || f["span_id"] != tp[36:52] {
				t.Errorf("fields = %v", f)
			}
			if id, _ := f["correlation_id"].(string); id == "" {
				t.Errorf("no correlation_id in %v", f)
			}
			if _, ok := f["duration_ms"].(float64); !ok {
				t.Errorf("duration_ms = %v, want a float", f["duration_ms"])
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		d            time.Duration
		wantDeadline bool
	}{
		{name: "sets a deadline", d: time.Minute, wantDeadline: true},
		{name: "zero sets none", d: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var deadline time.Time
			var ok bool
			var rec = httptest.NewRecorder()
			httpx.Timeout(tt.d)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				deadline, ok = r.Context().Deadline()
			})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if ok != tt.wantDeadline || (ok && time.Until(deadline) > tt.d) {
				t.Errorf("deadline = %v, %v", deadline, ok)
			}
			if rec.Code != 200 || rec.Body.Len() != 0 {
				t.Errorf("Timeout wrote %d %q itself", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestTimeoutAnswers504(t *testing.T) {
	t.Parallel()
	h := httpx.Timeout(time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a database call giving up
		httpx.WriteError(w, r, nil, errors.Join(errors.New("query"), r.Context().Err()))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil))
	if p := readProblem(t, rec); rec.Code != 504 || p.Code != "http.timeout" {
		t.Errorf("answered %d %q, want 504 http.timeout", rec.Code, p.Code)
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	var readErr error
	h := httpx.LimitBody(4)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, readErr = r.Body.Read(make([]byte, 16))
		if readErr == nil {
			_, readErr = r.Body.Read(make([]byte, 16))
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader("0123456789")))
	var tooLarge *http.MaxBytesError
	if !errors.As(readErr, &tooLarge) {
		t.Errorf("reading past the limit: %v, want *http.MaxBytesError", readErr)
	}
}
