package bff

import (
	"context"
	"net/http"
	"time"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
)

// CookieName is the session cookie. Its value is the access token identity
// issued; it is HttpOnly, so no page script (nor an injected one) can read
// it, SameSite=Strict, so another site's page cannot make the browser send
// it, and scoped to /bff, so the public API never sees it (that API takes
// bearer tokens and has no cross-site exposure).
const CookieName = "shop_session"

// ClientHeader must be on every state-changing request, with the value
// ClientValue. A page of another site can only add a custom header through
// CORS, which this process does not allow, so it is a second guard behind
// the Origin / Sec-Fetch-Site check.
const (
	ClientHeader = "X-Shop-Client"
	ClientValue  = "storefront"
)

type sessions struct {
	tokens *auth.Verifier
	secure bool
}

// set keeps token in the session cookie for its lifetime.
func (s sessions) set(w http.ResponseWriter, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: Prefix, MaxAge: int(ttl.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
}

func (s sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
}

// principal returns the caller of a request with a valid session cookie.
// An expired or forged token is no session (ok false), like no cookie.
func (s sessions) principal(r *http.Request) (auth.Principal, string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return auth.Principal{}, "", false
	}
	p, err := s.tokens.Verify(r.Context(), c.Value)
	if err != nil {
		return auth.Principal{}, "", false
	}
	return p, c.Value, true
}

// require admits requests with a valid session and puts its caller in the
// context (auth.FromContext); others get 401 auth.unauthenticated, and a
// stale cookie is cleared.
func (s sessions) require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, ok := s.principal(r)
		if !ok {
			if _, err := r.Cookie(CookieName); err == nil {
				s.clear(w)
			}
			httpx.WriteError(w, r, nil, auth.ErrUnauthenticated.WithMessage("log in to see this"))
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// caller is the principal require put in ctx.
func caller(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx)
	return p
}

// byCustomer keys the order rate limit by the session's customer.
func byCustomer(r *http.Request) (string, error) {
	return caller(r.Context()).UserID.String(), nil
}

// crossOrigin is net/http's check of Sec-Fetch-Site and Origin against Host.
var crossOrigin = http.NewCrossOriginProtection()

// sameOrigin refuses state-changing requests that are not from the
// storefront's own pages: a cross-site Sec-Fetch-Site or Origin (net/http's
// CrossOriginProtection), or a missing ClientHeader. Safe methods pass: they
// change nothing, and EventSource cannot add headers.
func sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if err := crossOrigin.Check(r); err != nil || r.Header.Get(ClientHeader) != ClientValue {
			httpx.WriteError(w, r, nil, ErrCrossSiteRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
