// Package auth is the seam between routes and whoever decides who may call
// them. Routes declare the roles they need through a Guard; the identity
// module provides the guard that checks tokens. Until a process has one, the
// Open guard admits every caller — development only.
package auth

import "net/http"

// Role is what a caller is allowed to be.
type Role string

// The roles of the system.
const (
	Admin    Role = "admin"
	Customer Role = "customer"
)

// Guard turns a role requirement into middleware.
type Guard interface {
	// Require admits only callers that hold one of roles.
	Require(roles ...Role) func(http.Handler) http.Handler
}

// Open admits everyone. It is the guard of a process without the identity
// module; the application refuses it in production.
type Open struct{}

func (Open) Require(...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return next }
}
