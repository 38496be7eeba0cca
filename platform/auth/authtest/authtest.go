// Package authtest gives tests a key to sign user tokens with, as the
// identity module signs them.
package authtest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/auth"
)

// Key is an Ed25519 signing key of user tokens.
type Key struct {
	PEM    string // as APP_JWT_PRIVATE_KEY holds it
	Signer *auth.Signer
}

// NewKey returns a fresh key.
func NewKey(t testing.TB) Key {
	t.Helper()
	text, err := auth.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParsePrivateKeys(text)
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.NewSigner(keys, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return Key{PEM: text, Signer: s}
}

// Token returns an access token of a new user with role.
func (k Key) Token(t testing.TB, role auth.Role) string {
	t.Helper()
	return k.TokenFor(t, auth.Principal{UserID: uuid.New(), Role: role})
}

// TokenFor returns an access token of p.
func (k Key) TokenFor(t testing.TB, p auth.Principal) string {
	t.Helper()
	tok, _, err := k.Signer.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Verifier returns a verifier of the key's tokens.
func (k Key) Verifier() *auth.Verifier { return auth.NewVerifier(k.Signer) }
