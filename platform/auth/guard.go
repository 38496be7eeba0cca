package auth

import (
	"net/http"
	"strings"

	"github.com/modmono/shop/platform/httpx"
)

// Guard authenticates requests and enforces roles.
type Guard struct{ tokens *Tokens }

// NewGuard returns a guard that verifies tokens with tokens.
func NewGuard(tokens *Tokens) *Guard { return &Guard{tokens: tokens} }

// Authenticate puts the caller of a request with a valid bearer token in its
// context. A request without a token passes through anonymous; a request
// with a bad token is refused with 401, so a client learns its token expired.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			unauthenticated(w, r, ErrInvalidToken)
			return
		}
		p, err := g.tokens.Verify(strings.TrimSpace(token))
		if err != nil {
			unauthenticated(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Require admits only authenticated callers holding one of roles: 401
// without a caller, 403 with the wrong role.
func (g *Guard) Require(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			switch {
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
