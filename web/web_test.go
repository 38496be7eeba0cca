package web_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modmono/shop/web"
)

func TestServesTheUIAndProblemsForTheRest(t *testing.T) {
	t.Parallel()
	h := web.Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/", 200, "text/html"},
		{"GET", "/index.html", 301, ""}, // FileServer canonicalises to /
		{"GET", "/nope.js", 404, "application/problem+json"},
		{"GET", "/../../etc/passwd", 404, "application/problem+json"},
		{"POST", "/", 405, "application/problem+json"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.contentType) {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
