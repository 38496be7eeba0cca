package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/modmono/shop/platform/httpx"
)

func TestRateLimitAnswersProblemsWithRetryAfter(t *testing.T) {
	t.Parallel()
	h := httpx.RateLimit(3, time.Minute, httpx.ByClientIP)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	send := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := send("10.0.0.1:1234"); rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := send("10.0.0.1:9999")
	if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("4th request: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	if rec := send("10.0.0.2:1234"); rec.Code != 200 {
		t.Fatalf("another client was limited: %d", rec.Code)
	}
}
