package auth

import (
	"context"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// swappableKeys is a key source whose keys change under the verifier, as
// identity's do when a key is withdrawn.
type swappableKeys struct {
	mu  sync.Mutex
	src KeySource
}

func (s *swappableKeys) set(src KeySource) { s.mu.Lock(); defer s.mu.Unlock(); s.src = src }

func (s *swappableKeys) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Key(ctx, kid)
}

func (s *swappableKeys) PublicKeys(ctx context.Context) (PublicKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.PublicKeys(ctx)
}

// A token verified once is taken again without its signature checked, but
// never past its expiry, and never once the key that signed it is withdrawn.
func TestVerifiedTokensAreRememberedNotTrustedBlindly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := userSigner(t)
	keys := &swappableKeys{src: first}
	c := &clock{t: time.Now()}
	v := NewVerifier(keys)
	v.now = c.now
	p := Principal{UserID: uuid.New(), Role: Customer}
	token, ttl, err := first.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := v.Verify(ctx, token); err != nil || got != p {
			t.Fatalf("Verify = %v, %v; want %v", got, err, p)
		}
	}
	if _, ok := v.verified.get(token); !ok {
		t.Fatal("a verified token was not remembered")
	}
	// Another signature: one character changed in its middle (the last
	// ones carry padding bits a decoder may ignore).
	i := len(token) - 20
	other := byte('A')
	if token[i] == other {
		other = 'B'
	}
	if _, err := v.Verify(ctx, token[:i]+string(other)+token[i+1:]); err == nil {
		t.Fatal("a token with another signature passed")
	}

	keys.set(userSigner(t)) // the signing key withdrawn
	if _, err := v.Verify(ctx, token); err == nil {
		t.Fatal("a remembered token passed after its key was withdrawn")
	}
	keys.set(first)
	if _, err := v.Verify(ctx, token); err != nil {
		t.Fatal(err)
	}
	c.add(ttl + leeway + time.Second)
	if _, err := v.Verify(ctx, token); err == nil {
		t.Fatal("a remembered token passed after it expired")
	}
}

// The memory of verified tokens is bounded.
func TestVerifiedTokensAreBounded(t *testing.T) {
	t.Parallel()
	var c verifiedTokens
	c.m = map[string]verifiedToken{}
	for i := range maxVerified + 10 {
		c.put(uuid.NewString()+string(rune(i)), verifiedToken{})
	}
	if len(c.m) != maxVerified {
		t.Fatalf("%d tokens remembered, want %d", len(c.m), maxVerified)
	}
}
