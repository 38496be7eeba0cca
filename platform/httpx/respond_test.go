package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
)

func TestWriteError(t *testing.T) {
	t.Parallel()
	errNoProduct := apperr.New(apperr.KindNotFound, "catalog.product_not_found", "no such product")
	tests := []struct {
		name     string
		err      error
		cancel   bool // the client has gone away
		status   int
		code     string
		logLevel zapcore.Level // the level it is logged at; InvalidLevel: not logged
	}{
		{name: "classified", err: fmt.Errorf("get: %w", errNoProduct), status: 404, code: "catalog.product_not_found", logLevel: zapcore.InvalidLevel},
		{name: "unsupported media type", err: httpx.ErrUnsupportedMediaType, status: 415, code: "http.unsupported_media_type", logLevel: zapcore.InvalidLevel},
		{name: "internal", err: errors.New("SECRET dsn=postgres://u:p@db"), status: 500, code: "internal", logLevel: zapcore.ErrorLevel},
		{name: "deadline", err: fmt.Errorf("query: %w", context.DeadlineExceeded), status: 504, code: "http.timeout", logLevel: zapcore.ErrorLevel},
		{name: "classified unavailable", err: apperr.New(apperr.KindUnavailable, "payments.down", "try later"), status: 503, code: "payments.down", logLevel: zapcore.ErrorLevel},
		{name: "client gone", err: fmt.Errorf("query: %w", context.Canceled), cancel: true, status: 499, logLevel: zapcore.DebugLevel},
		{name: "canceled while client still there", err: context.Canceled, status: 500, code: "internal", logLevel: zapcore.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(correlation.With(context.Background(), "cid-1"))
			defer cancel()
			if tt.cancel {
				cancel()
			}
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/products/1", nil)
			core, logs := observer.New(zapcore.DebugLevel)
			rec := httptest.NewRecorder()
			httpx.WriteError(rec, r, zap.New(core), tt.err)

			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.code != "" {
				p := readProblem(t, rec)
				if p.Code != tt.code || p.Status != tt.status || p.CorrelationID != "cid-1" {
					t.Errorf("problem = %+v, want %s with correlation_id", p, tt.code)
				}
			} else if rec.Body.Len() != 0 {
				t.Errorf("body = %q, want none", rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "SECRET") {
				t.Errorf("body leaks the cause: %s", rec.Body.String())
			}
			entries := logs.All()
			if tt.logLevel == zapcore.InvalidLevel {
				if len(entries) != 0 {
					t.Errorf("logged %v, want nothing for a 4xx", entries)
				}
				return
			}
			if len(entries) != 1 || entries[0].Level != tt.logLevel || entries[0].ContextMap()["correlation_id"] != "cid-1" {
				t.Fatalf("logged %+v, want one line at %v with correlation_id", entries, tt.logLevel)
			}
			if tt.logLevel == zapcore.ErrorLevel && !strings.Contains(fmt.Sprint(entries[0].ContextMap()["error"]), tt.err.Error()) {
				t.Errorf("log lacks the real error: %v", entries[0].ContextMap())
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		v      any
		want   string
		wantCT string
	}{
		{name: "value", status: 201, v: map[string]string{"id": "1"}, want: `{"id":"1"}` + "\n", wantCT: "application/json"},
		{name: "unencodable", status: 200, v: map[string]any{"c": make(chan int)}, want: `"code":"internal"`, wantCT: "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			httpx.WriteJSON(rec, tt.status, tt.v)
			wantStatus := tt.status
			if tt.wantCT != "application/json" {
				wantStatus = 500
			}
			if rec.Code != wantStatus || rec.Header().Get("Content-Type") != tt.wantCT || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
		})
	}
}
