// Package auth authenticates callers with signed JWTs and lets routes state
// the roles they need. User access tokens are signed with Ed25519 by the
// identity module alone (Signer, APP_JWT_PRIVATE_KEY); every process
// verifies them with the public keys identity publishes (Verifier over a
// KeySource: the Signer in identity's process, RemoteKeys elsewhere), so no
// other process can mint one. The shared APP_JWT_SECRET keys only the
// short-lived service tokens between processes (ServiceTokens).
package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
)

// Role is what a caller is allowed to be.
type Role string

// The roles of the system.
const (
	Admin    Role = "admin"
	Customer Role = "customer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Admin || r == Customer }

// Principal is an authenticated caller.
type Principal struct {
	UserID uuid.UUID
	Role   Role
}

// Is reports whether the caller holds one of roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// CanAccess reports whether the caller may see a resource owned by owner:
// its owner and admins may.
func (p Principal) CanAccess(owner uuid.UUID) bool { return p.Role == Admin || p.UserID == owner }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated caller, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Errors of authentication and authorization.
var (
	// ErrUnauthenticated means the route needs a logged-in user and the request has no bearer token.
	// Log in with POST /api/v1/auth/login and send the access_token as Authorization: Bearer <token>.
	ErrUnauthenticated = apperr.New(apperr.KindUnauthenticated, "auth.unauthenticated", "a valid bearer token is required")
	// ErrInvalidToken means the bearer token is malformed, not signed by one of the keys identity
	// publishes, or expired (tokens live one hour). Log in again.
	ErrInvalidToken = apperr.New(apperr.KindUnauthenticated, "auth.invalid_token", "the bearer token is invalid or expired")
	// ErrForbidden means the caller is logged in but may not do this: the route is for another role
	// (catalog and stock writes are for the admin), or the order or payment belongs to another
	// customer.
	ErrForbidden = apperr.New(apperr.KindForbidden, "auth.forbidden", "your role does not allow this")
)
