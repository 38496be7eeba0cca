package web_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

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

// The storefront's screens answer its page, so links and reloads work; the
// console's page answers /console when it is there; other paths stay 404.
func TestClientRoutesAnswerTheirPage(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{
		"index.html":         {Data: []byte("storefront")},
		"app.js":             {Data: []byte("js")},
		"console/index.html": {Data: []byte("console")},
	}
	withoutConsole := fstest.MapFS{"index.html": files["index.html"]}
	for _, tc := range []struct {
		fs     fstest.MapFS
		path   string
		status int
		body   string
	}{
		{files, "/products/0b5c3b1e-4a47-4f3e-9e1e-2f1b8c1d0a11", 200, "storefront"},
		{files, "/orders/0b5c3b1e-4a47-4f3e-9e1e-2f1b8c1d0a11", 200, "storefront"},
		{files, "/orders", 200, "storefront"},
		{files, "/cart", 200, "storefront"},
		{files, "/checkout", 200, "storefront"},
		{files, "/login", 200, "storefront"},
		{files, "/register", 200, "storefront"},
		{files, "/notifications", 200, "storefront"},
		{files, "/app.js", 200, "js"},
		{files, "/console", 200, "console"},
		{files, "/console/", 200, "console"},
		{files, "/console/modules/ordering", 200, "console"},
		{withoutConsole, "/console", 404, ""},
		{files, "/products/not-an-id", 404, ""},
		{files, "/orders/1/2", 404, ""},
		{files, "/unknown", 404, ""},
	} {
		rec := httptest.NewRecorder()
		web.HandlerFS(tc.fs).ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, rec.Code, rec.Body.String(), tc.status, tc.body)
		}
		if tc.status == 404 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s: a 404 must be a problem, got %q", tc.path, rec.Header().Get("Content-Type"))
		}
	}
}
