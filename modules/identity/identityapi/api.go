// Package identityapi is the identity module's public surface: users, their
// credentials and roles, and the access tokens it issues. Other modules may
// import only this package of identity.
package identityapi

//go:generate go run ../../../internal/rpcgen

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
)

// User is an account as other modules see it. It never carries credentials.
type User struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
	Role  auth.Role `json:"role"`
}

// RegisterInput creates a customer account.
type RegisterInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// Registered is the answer to a registration: POST /auth/register → 201 {id}.
type Registered struct {
	ID uuid.UUID `json:"id"`
}

// LoginInput exchanges credentials for an access token.
type LoginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Token is an access token: POST /auth/login → 200.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // always "Bearer"
	ExpiresIn   int    `json:"expires_in"` // seconds
}

// ProfileInput changes what a user may change about themselves.
type ProfileInput struct {
	Name string `json:"name"`
}

// API is what identity offers other modules, in process or over HTTP.
type API interface {
	// Register creates a customer. The email is normalised (trimmed, lower case).
	Register(ctx context.Context, in RegisterInput) (Registered, error)
	// Login checks credentials and issues a token.
	//rpc:idempotent
	Login(ctx context.Context, in LoginInput) (Token, error)
	//rpc:idempotent
	GetUser(ctx context.Context, id uuid.UUID) (User, error)
	// UpdateProfile changes a user's name and announces it (user_updated).
	//rpc:idempotent
	UpdateProfile(ctx context.Context, id uuid.UUID, in ProfileInput) (User, error)
}

// Errors of the API. Match them with errors.Is.
var (
	// ErrEmailTaken means an account with this email address already exists. Log in with POST
	// /api/v1/auth/login instead, or register with another address.
	ErrEmailTaken = apperr.New(apperr.KindConflict, "identity.email_taken", "an account with this email exists")
	// ErrInvalidCredentials means the email and password do not match an account. The answer does not
	// say which of the two is wrong, so that it cannot be used to find out who has an account.
	ErrInvalidCredentials = apperr.New(apperr.KindUnauthenticated, "identity.invalid_credentials", "the email or password is wrong")
	// ErrInvalidUser means an account to register or update breaks a field rule: a valid email
	// address, a name of 1 to 100 characters, and a password of 10 to 128 characters that is neither
	// one character repeated nor the email address. The errors member names each field that failed.
	ErrInvalidUser = apperr.New(apperr.KindInvalid, "identity.invalid_user", "the account has invalid fields")
	// ErrInvalidLogin means a login request lacks the email or the password; send both.
	ErrInvalidLogin = apperr.New(apperr.KindInvalid, "identity.invalid_login", "the email and the password are required")
	// ErrUserNotFound means no account has this ID, for instance because the token belongs to an
	// account of another deployment. Log in again.
	ErrUserNotFound = apperr.New(apperr.KindNotFound, "identity.user_not_found", "no user with this id")
)
