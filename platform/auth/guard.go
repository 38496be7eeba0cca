package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/modmono/shop/platform/httpx"
)

// Guard authenticates requests and enforces roles.
type Guard struct{ tokens *Verifier }

// NewGuard returns a guard that verifies tokens with tokens.
func NewGuard(tokens *Verifier) *Guard { return &Guard{tokens: tokens} }

type badTokenKey struct{}

// Authenticate puts the caller of a request with a valid bearer token in its
// context. A request without a token, or with a bad one, goes on anonymous:
// public routes still answer (an expired token must not stop browsing), and
// Require answers a bad token with 401 auth.invalid_token.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		var err error = ErrInvalidToken
		if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") && token != "" {
			var p Principal
			if p, err = g.tokens.Verify(r.Context(), strings.TrimSpace(token)); err == nil {
				next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), badTokenKey{}, err)))
	})
}

// Require admits only authenticated callers holding one of roles: 401
// without a caller, 403 with the wrong role.
func (g *Guard) Require(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			bad, _ := r.Context().Value(badTokenKey{}).(error)
			switch {
			case bad != nil:
				unauthenticated(w, r, bad)
			case !ok:
				unauthenticated(w, r, ErrUnauthenticated)
			case !p.Is(roles...):
				httpx.WriteError(w, r, nil, ErrForbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

func unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="shop"`)
	httpx.WriteError(w, r, nil, err)
}
