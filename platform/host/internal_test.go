package host

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// In development without APP_INTERNAL_ADDR, /internal answers only peers on
// this machine; every other route answers everyone.
func TestLoopbackInternal(t *testing.T) {
	t.Parallel()
	h := loopbackInternal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		peer, path string
		want       int
	}{
		{"127.0.0.1:40000", "/internal/payments/Charge", http.StatusTeapot},
		{"[::1]:40000", "/internal/payments/Charge", http.StatusTeapot},
		{"[::ffff:127.0.0.1]:40000", "/internal/payments/Charge", http.StatusTeapot},
		{"10.231.0.2:40000", "/internal/payments/Charge", http.StatusNotFound},
		{"192.0.2.7:40000", "/api/../internal/payments/Charge", http.StatusNotFound},
		{"192.0.2.7:40000", "//internal", http.StatusNotFound},
		{"not an address", "/internal/payments/Charge", http.StatusNotFound},
		{"192.0.2.7:40000", "/api/v1/products", http.StatusTeapot},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://shop.test/", nil)
		r.URL.Path, r.RemoteAddr = tc.path, tc.peer
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s from %s: %d, want %d", tc.path, tc.peer, w.Code, tc.want)
		}
	}
}
