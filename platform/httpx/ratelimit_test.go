package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/modmono/shop/platform/httpx"
)

func TestByClientIP(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"[::ffff:192.0.2.1]:1234":    "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"not an address":             "not an address",
		"192.0.2.1":                  "192.0.2.1",
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		if got, err := httpx.ByClientIP(r); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", addr, got, err, want)
		}
	}
}

// Only a trusted peer's X-Forwarded-For is believed, and only up to the
// first address that is not a trusted proxy, read from the right.
func TestTrustProxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	for _, tc := range []struct {
		name, peer string
		forwarded  []string
		want       string
	}{
		{"an untrusted peer's header is ignored", "192.0.2.1:5000", []string{"203.0.113.7"}, "192.0.2.1:5000"},
		{"a spoofed chain from an untrusted peer is ignored", "192.0.2.1:5000", []string{"10.0.0.1, 203.0.113.7"}, "192.0.2.1:5000"},
		{"a trusted peer without the header", "10.1.1.1:5000", nil, "10.1.1.1:0"},
		{"the client a trusted proxy saw", "10.1.1.1:5000", []string{"203.0.113.7"}, "203.0.113.7:0"},
		{"the right-most untrusted address", "10.1.1.1:5000", []string{"198.51.100.66, 203.0.113.7, 10.2.2.2"}, "203.0.113.7:0"},
		{"several header lines read as one list", "10.1.1.1:5000", []string{"198.51.100.66", "203.0.113.7", "10.2.2.2"}, "203.0.113.7:0"},
		{"every hop trusted: the left-most", "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3:0"},
		{"garbage stops at the last trusted hop", "10.1.1.1:5000", []string{"203.0.113.7, <script>, 10.2.2.2"}, "10.2.2.2:0"},
		{"garbage right next to the peer", "10.1.1.1:5000", []string{"unknown"}, "10.1.1.1:0"},
		{"addresses with ports", "10.1.1.1:5000", []string{"203.0.113.7:61000, [2001:db8:ffff::9]:443"}, "203.0.113.7:0"},
		{"IPv6 peer and client", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::5"}, "[2001:db8:1::5]:0"},
		{"an IPv4-mapped trusted peer", "[::ffff:10.1.1.1]:5000", []string{"203.0.113.7"}, "203.0.113.7:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := httpx.TrustProxies(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.forwarded {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}

// Without trusted proxies the header is never read.
func TestTrustProxiesWithoutProxies(t *testing.T) {
	t.Parallel()
	var got string
	h := httpx.TrustProxies(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.1.1:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "10.1.1.1:5000" {
		t.Fatalf("client %q", got)
	}
}

func FuzzClientAddr(f *testing.F) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Add("10.0.0.1:1", "203.0.113.7, 10.0.0.2")
	f.Add("10.0.0.1:1", ",,[::1]:80,%")
	f.Fuzz(func(t *testing.T, peer, forwarded string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", forwarded)
		if a, ok := httpx.ClientAddr(r, trusted); ok && !a.IsValid() {
			t.Fatalf("an invalid address for %q %q", peer, forwarded)
		}
	})
}
