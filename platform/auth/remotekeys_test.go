package auth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/auth"
)

// identityStub publishes the JWKS of its current signer, or fails while down.
type identityStub struct {
	mu      sync.Mutex
	signer  *auth.Signer
	down    bool
	fetches atomic.Int32
}

func (s *identityStub) set(signer *auth.Signer, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signer, s.down = signer, down
}

func (s *identityStub) fetch(ctx context.Context) ([]byte, error) {
	s.fetches.Add(1)
	s.mu.Lock()
	signer, down := s.signer, s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	rec := httptest.NewRecorder()
	auth.JWKSHandler(signer).ServeHTTP(rec, httptest.NewRequest("GET", auth.JWKSPath, nil).WithContext(ctx))
	return io.ReadAll(rec.Body)
}

func issue(t *testing.T, s *auth.Signer) string {
	t.Helper()
	tok, _, err := s.Issue(auth.Principal{UserID: uuid.New(), Role: auth.Customer})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestRemoteKeys follows a verifier in another process through identity's
// key rotation and an identity outage.
func TestRemoteKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old, next := newKey(t), newKey(t)
	id := &identityStub{}
	id.set(signer(t, old), false)
	const minInterval, maxAge = 100 * time.Millisecond, 300 * time.Millisecond
	keys := auth.NewRemoteKeys(id.fetch, auth.RemoteKeysOptions{MinInterval: minInterval, MaxAge: maxAge}, nil)
	v := auth.NewVerifier(keys)

	session := issue(t, signer(t, old))
	if _, err := v.Verify(ctx, session); err != nil {
		t.Fatalf("first token: %v", err)
	}
	for range 10 {
		_, _ = v.Verify(ctx, session)
	}
	if n := id.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for one key, want 1 (cached)", n)
	}

	// Rotation: identity signs with next and still publishes old; a token
	// of next (an unknown kid) is fetched for, the session is kept.
	rotated := signer(t, next, old)
	id.set(rotated, false)
	time.Sleep(minInterval)
	if _, err := v.Verify(ctx, issue(t, rotated)); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	if _, err := v.Verify(ctx, session); err != nil {
		t.Fatalf("the session of the old key after rotation: %v", err)
	}

	// Identity down: the last good set still verifies, even when too old.
	id.set(rotated, true)
	time.Sleep(maxAge)
	for range 3 {
		if _, err := v.Verify(ctx, session); err != nil {
			t.Fatalf("while identity is down: %v", err)
		}
		time.Sleep(minInterval)
	}

	// The old key retired: once the set is refetched, its tokens are refused.
	id.set(signer(t, next), false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(ctx, session)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a token of a retired key is still accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Before any good fetch, a verifier knows no key: tokens are refused and
// the JWKS it would serve is unavailable, not empty.
func TestRemoteKeysWithIdentityDownFromTheStart(t *testing.T) {
	t.Parallel()
	id := &identityStub{}
	s := signer(t, newKey(t))
	id.set(s, true)
	keys := auth.NewRemoteKeys(id.fetch, auth.RemoteKeysOptions{}, nil)
	if _, err := auth.NewVerifier(keys).Verify(context.Background(), issue(t, s)); err == nil {
		t.Fatal("accepted without keys")
	}
	rec := httptest.NewRecorder()
	auth.JWKSHandler(keys).ServeHTTP(rec, httptest.NewRequest("GET", auth.JWKSPath, nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("JWKS %d %s", rec.Code, rec.Body)
	}
}

// Forged key IDs cannot make the verifier hammer identity: one fetch per
// MinInterval however many unknown kids arrive.
func TestRemoteKeysFlood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id := &identityStub{}
	s := signer(t, newKey(t))
	id.set(s, false)
	v := auth.NewVerifier(auth.NewRemoteKeys(id.fetch, auth.RemoteKeysOptions{MinInterval: time.Minute}, nil))
	if _, err := v.Verify(ctx, issue(t, s)); err != nil {
		t.Fatal(err)
	}
	// Forged key IDs cannot make the verifier hammer identity.
	forger := newKey(t)
	forged := make([]string, 50)
	for i := range forged {
		forged[i] = sign(t, jwt.SigningMethodEdDSA, forger, uuid.NewString(), good())
	}
	var wg sync.WaitGroup
	for _, tok := range forged {
		wg.Go(func() {
			if _, err := v.Verify(ctx, tok); err == nil {
				t.Error("a forged kid accepted")
			}
		})
	}
	wg.Wait()
	if n := id.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after 50 unknown kids within MinInterval, want 1", n)
	}

}
