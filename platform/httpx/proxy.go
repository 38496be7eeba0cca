package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustProxies returns middleware that sets r.RemoteAddr to the client's
// address when the request comes from one of trusted (APP_TRUSTED_PROXIES:
// load balancers, ingress controllers). It does nothing without trusted
// proxies, or for a request from any other peer, whose X-Forwarded-For
// anyone could have written. See ClientAddr.
func TrustProxies(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(trusted) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if client, ok := ClientAddr(r, trusted); ok {
				r.RemoteAddr = net.JoinHostPort(client.String(), "0")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ClientAddr finds the client of a request that came through trusted
// proxies. Each proxy appends the address of its own peer to
// X-Forwarded-For, so reading the list from the right, past the trusted
// proxies, the first address is the one the outermost trusted proxy saw
// connect: everything to its left came from the client and proves nothing.
// It reports false when the connecting peer is not trusted; when every
// address is trusted it answers the left-most, and at an entry that is not
// an address it stops at the last trusted one.
func ClientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok || !contains(trusted, peer) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, ok := parseAddr(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		client = addr
		if !contains(trusted, addr) {
			break
		}
	}
	return client, true
}

// parseAddr reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443", "2001:db8::1"), IPv4-mapped IPv6
// as IPv4.
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
