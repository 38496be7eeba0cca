package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// The issuer and audience every token names; a token for another system is refused.
const (
	Issuer   = "shop-identity"
	Audience = "shop-api"
)

// MinSecretLen is the shortest HS256 secret accepted.
const MinSecretLen = 32

// Tokens issues and verifies HS256 access tokens. It is safe for concurrent use.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens returns a token service; ttl is an access token's lifetime.
func NewTokens(secret []byte, ttl time.Duration) (*Tokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: the JWT secret must be at least %d bytes", MinSecretLen)
	}
	return &Tokens{secret: secret, ttl: ttl, now: time.Now}, nil
}

type claims struct {
	Role Role `json:"role"`
	jwt.RegisteredClaims
}

// Secret returns the signing secret, from which service tokens derive theirs.
func (t *Tokens) Secret() []byte { return t.secret }

// Issue signs a token for p and returns it with its lifetime.
func (t *Tokens) Issue(p Principal) (string, time.Duration, error) {
	now := t.now()
	c := claims{Role: p.Role, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   p.UserID.String(),
		Audience:  jwt.ClaimStrings{Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		ID:        uuid.NewString(),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	return s, t.ttl, err
}

// Verify checks a token's signature (HS256 only: "none" and every other
// algorithm are refused), issuer, audience and expiry, and returns its caller.
func (t *Tokens) Verify(token string) (Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return Principal{}, ErrInvalidToken.Wrap(err)
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil || !c.Role.Valid() {
		return Principal{}, ErrInvalidToken.Wrap(errors.New("bad subject or role"))
	}
	return Principal{UserID: id, Role: c.Role}, nil
}
