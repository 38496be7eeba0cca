package httpx

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/modmono/shop/platform/apperr"
)

// ErrRateLimited means the client went over its budget (logins and registrations per client
// address, orders per customer, per minute). Wait the seconds of the Retry-After header.
var ErrRateLimited = apperr.New(apperr.KindTooManyRequests, "http.rate_limited", "too many requests; retry later")

// KeyFunc names the client a request counts against (platform/ratelimit).
type KeyFunc func(r *http.Request) (string, error)

// ByClientIP keys requests by the client's address: the connecting one, or
// the one TrustProxies found behind a trusted proxy. An IPv6 client counts by
// its /64, which one host usually holds whole.
func ByClientIP(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host, nil
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String(), nil
	}
	return ip.String(), nil
}
