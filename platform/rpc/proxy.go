package rpc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
)

type proxiedKey struct{}

// Proxy returns a handler that forwards public requests to the remote
// module's instances (the strangler fig's route): the caller's
// Authorization and correlation ID go along, and the transport continues
// the trace (traceparent), and the
// gateway's forwarding token (auth.ForwardAudience: it never opens
// /internal) vouches for the X-Forwarded-For it sets, so the module can
// rate-limit by the real client address. A path with dot segments or
// encoded slashes is refused rather than passed on to hops that might
// resolve it elsewhere, and a request some gateway of this deployment has
// forwarded already is not forwarded again (a loop of APP_REMOTE_*).
func (c *Client) Proxy() http.Handler {
	proxy := &httputil.ReverseProxy{
		Transport: c.http.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			in := c.pool.next()
			target, _ := url.Parse(in.base) // validated by newPool
			pr.SetURL(target)
			pr.Out.Host = target.Host
			// The module judges the query itself: ReverseProxy would drop
			// the parameters it cannot parse, and a malformed query must be
			// refused as it is in the monolith, not half read.
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.SetXForwarded()
			pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), proxiedKey{}, in))
			h := pr.Out.Header
			h.Del(auth.ServiceHeader)
			if token, err := c.tokens.ForwardToken(); err == nil {
				h.Set(auth.ServiceHeader, token)
			}
			propagate(pr.In.Context(), h)
		},
		ModifyResponse: func(resp *http.Response) error {
			if in, ok := resp.Request.Context().Value(proxiedKey{}).(*instance); ok {
				in.succeeded()
			}
			// The gateway answers with the same ID already; one header, not two.
			resp.Header.Del(correlation.Header)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.As(err, new(*http.MaxBytesError)) {
				httpx.WriteError(w, r, nil, httpx.ErrBodyTooLarge)
				return
			}
			if in, ok := r.Context().Value(proxiedKey{}).(*instance); ok && r.Context().Err() == nil {
				in.failed(err)
			}
			c.log.Warn("cannot forward a request to a remote module", zap.String("path", r.URL.Path), zap.Error(err))
			httpx.WriteError(w, r, nil, ErrUnavailable.Wrap(err))
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanPath(r.URL) {
			httpx.WriteError(w, r, nil, httpx.ErrNotFound)
			return
		}
		if _, err := c.tokens.VerifyForwarded(r.Header.Get(auth.ServiceHeader)); err == nil {
			c.log.Error("a forwarded request came back to be forwarded again: APP_REMOTE_* form a loop", zap.String("path", r.URL.Path))
			httpx.WriteError(w, r, nil, ErrLoop)
			return
		}
		// A body over the limit is refused here, as the module would refuse
		// it, without sending a byte of it on.
		if r.ContentLength > httpx.BodyLimit(r.Context()) {
			httpx.WriteError(w, r, nil, httpx.ErrBodyTooLarge)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

// ErrLoop means a request went round the deployment's processes: two processes each forward the
// module's routes to the other. Fix the APP_REMOTE_* settings so that one process runs the module.
var ErrLoop = apperr.New(apperr.KindUnavailable, "rpc.forwarding_loop",
	"this request was forwarded in a loop: the deployment's APP_REMOTE_* settings are wrong")

// cleanPath reports whether u's path has no dot segments and no encoded
// slashes or backslashes: what reaches a module is what the router matched.
func cleanPath(u *url.URL) bool {
	raw := strings.ToLower(u.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%2e") {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
