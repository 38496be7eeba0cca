// Package app implements identity's API: it validates through the domain,
// hashes and checks passwords with argon2id, stores accounts through the
// repository and issues access tokens.
package app

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/domain"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
)

// Service implements identityapi.API. It is safe for concurrent use.
type Service struct {
	users  Users
	tokens *auth.Signer
	// slots bounds how many argon2 computations run at once. Each holds
	// 19 MiB and a CPU for tens of milliseconds, so without a bound a burst
	// of logins could exhaust memory; with one it only waits.
	slots chan struct{}
}

var _ identityapi.API = (*Service)(nil)

// New returns the service over its repository; tokens signs the access
// tokens Login issues.
func New(users Users, tokens *auth.Signer) *Service {
	return &Service{users: users, tokens: tokens, slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

func (s *Service) Register(ctx context.Context, in identityapi.RegisterInput) (identityapi.Registered, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return identityapi.Registered{}, err
	}
	u, err := domain.NewUser(id, in, auth.Customer, s.hasher(ctx))
	if err != nil {
		return identityapi.Registered{}, err
	}
	if err := s.users.Add(ctx, u); err != nil {
		return identityapi.Registered{}, err
	}
	return identityapi.Registered{ID: id}, nil
}

// Login answers identityapi.ErrInvalidCredentials alike for an unknown
// email and a wrong password, and takes about as long for both: an unknown
// email is still checked, against a dummy hash, so timing does not tell
// which emails have accounts.
func (s *Service) Login(ctx context.Context, in identityapi.LoginInput) (identityapi.Token, error) {
	var v apperr.Validator
	v.Check(in.Email != "", "email", "required")
	v.Check(in.Password != "", "password", "required")
	if err := v.Err(identityapi.ErrInvalidLogin.Code); err != nil {
		return identityapi.Token{}, err
	}
	email := domain.NormalizeEmail(in.Email)
	// No account can have an invalid email or an over-long password, so such
	// a request fails at once: it costs no hash, and a string Postgres cannot
	// hold (one with a NUL) never reaches the query.
	if !domain.ValidEmail(email) || utf8.RuneCountInString(in.Password) > domain.MaxPasswordLen {
		return identityapi.Token{}, identityapi.ErrInvalidCredentials
	}
	u, err := s.users.ByEmail(ctx, email)
	hash := dummyHash()
	switch {
	case err == nil:
		hash = u.PasswordHash()
	case !errors.Is(err, identityapi.ErrUserNotFound):
		return identityapi.Token{}, err
	}
	ok, err := s.verify(ctx, hash, in.Password)
	if err != nil {
		return identityapi.Token{}, err
	}
	if !ok || u == nil {
		return identityapi.Token{}, identityapi.ErrInvalidCredentials
	}
	token, ttl, err := s.tokens.Issue(u.Principal())
	if err != nil {
		return identityapi.Token{}, err
	}
	return identityapi.Token{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(ttl / time.Second)}, nil
}

func (s *Service) GetUser(ctx context.Context, id uuid.UUID) (identityapi.User, error) {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return identityapi.User{}, err
	}
	return u.Snapshot(), nil
}

// dummyHash is checked for logins with an unknown email. It is made with
// the current parameters, so it costs what a real check costs.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("identity: no account has this password") // fails only if crypto/rand does, which crashes instead
	return h
})

// hasher returns a domain.Hasher that waits for a free argon2 slot in ctx.
// UpdateProfile renames a user; see identityapi.API.
func (s *Service) UpdateProfile(ctx context.Context, id uuid.UUID, in identityapi.ProfileInput) (identityapi.User, error) {
	u, err := s.users.Update(ctx, id, func(u *domain.User) (bool, error) { return u.Rename(in.Name) })
	if err != nil {
		return identityapi.User{}, err
	}
	return u.Snapshot(), nil
}

func (s *Service) hasher(ctx context.Context) domain.Hasher {
	return func(password string) (h string, err error) {
		if werr := s.argon(ctx, func() { h, err = HashPassword(password) }); werr != nil {
			return "", werr
		}
		return h, err
	}
}

// verify is VerifyPassword in an argon2 slot.
func (s *Service) verify(ctx context.Context, encoded, password string) (ok bool, err error) {
	if werr := s.argon(ctx, func() { ok, err = VerifyPassword(encoded, password) }); werr != nil {
		return false, werr
	}
	return ok, err
}

// argon runs f once a slot is free, or gives up when ctx ends.
func (s *Service) argon(ctx context.Context, f func()) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	f()
	return nil
}
