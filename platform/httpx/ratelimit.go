package httpx

import (
	"net"
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/modmono/shop/platform/apperr"
)

// ErrRateLimited means the client went over its budget (logins and registrations per client
// address, orders per customer, per minute). Wait the seconds of the Retry-After header.
var ErrRateLimited = apperr.New(apperr.KindTooManyRequests, "http.rate_limited", "too many requests; retry later")

// KeyFunc names the client a request counts against.
type KeyFunc = httprate.KeyFunc

// ByClientIP keys requests by the connecting address (IPv6 by /64). Behind a
// proxy that is the proxy's address: key by user where callers authenticate.
func ByClientIP(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}

// RateLimit admits at most limit requests per window for each key and
// answers the rest with a 429 problem carrying Retry-After. Counters live in
// this process's memory: each instance limits on its own.
func RateLimit(limit int, window time.Duration, key KeyFunc) func(http.Handler) http.Handler {
	return httprate.LimitBy(limit, window, key,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			if w.Header().Get("Retry-After") == "" {
				w.Header().Set("Retry-After", "1")
			}
			WriteError(w, r, nil, ErrRateLimited)
		}))
}
