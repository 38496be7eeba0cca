package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

var serviceSecret = []byte(strings.Repeat("j", 40))

// clock is a settable time for ServiceTokens.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// userSigner returns a signer of user tokens over a fresh key.
func userSigner(t *testing.T) *Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner([]ed25519.PrivateKey{key}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serviceTokens(service string) (*ServiceTokens, *clock) {
	c := &clock{t: time.Now()}
	s := NewServiceTokens(serviceSecret, service)
	s.now = c.now
	return s, c
}

func TestServiceTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := serviceTokens("ordering")
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	if svc, err := s.Verify(tok); err != nil || svc != "ordering" {
		t.Fatalf("%q %v", svc, err)
	}
	// Another process of the deployment (same JWT secret) accepts it.
	if svc, err := NewServiceTokens(serviceSecret, "catalog").Verify(tok); err != nil || svc != "ordering" {
		t.Fatalf("another process: %q %v", svc, err)
	}
}

// Token is cached and renewed once half its lifetime has passed; a
// renewed token is valid and the old one stays valid until it expires.
func TestServiceTokenRenewal(t *testing.T) {
	t.Parallel()
	s, clk := serviceTokens("gateway")
	first, _ := s.Token()
	clk.add(ServiceTokenTTL/2 - time.Second)
	if again, _ := s.Token(); again != first {
		t.Fatal("renewed before half its lifetime")
	}
	clk.add(2 * time.Second)
	renewed, _ := s.Token()
	if renewed == first {
		t.Fatal("not renewed after half its lifetime")
	}
	if _, err := s.Verify(first); err != nil {
		t.Fatalf("the previous token before its expiry: %v", err)
	}
	if again, _ := s.Token(); again != renewed {
		t.Fatal("the renewed token is not cached")
	}
	clk.add(ServiceTokenTTL)
	if _, err := s.Verify(first); !errors.Is(err, ErrInvalidServiceToken) {
		t.Fatalf("an expired token: %v", err)
	}
	if fresh, _ := s.Token(); fresh == renewed {
		t.Fatal("an expired token handed out")
	} else if _, err := s.Verify(fresh); err != nil {
		t.Fatal(err)
	}
}

func TestServiceTokenConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := serviceTokens("x")
	var wg sync.WaitGroup
	toks := make([]string, 16)
	for i := range toks {
		wg.Go(func() {
			tok, err := s.Token()
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		})
	}
	wg.Wait()
	for _, tok := range toks {
		if tok != toks[0] {
			t.Fatal("concurrent callers got different tokens")
		}
	}
}

func TestServiceTokenVerifyRefuses(t *testing.T) {
	t.Parallel()
	s, _ := serviceTokens("svc")
	now := time.Now()
	claims := func(edit func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{Issuer: "svc", Subject: "svc", Audience: jwt.ClaimStrings{ServiceAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(jwt.SigningMethodHS256, s.key, claims(nil))
	if _, err := s.Verify(good); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	users := userSigner(t)
	userToken, _, err := users.Issue(Principal{UserID: uuid.New(), Role: Admin})
	if err != nil {
		t.Fatal(err)
	}

	for name, tok := range map[string]string{
		"empty":            "",
		"garbage":          "a.b.c",
		"alg none":         enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"none unsigned":    sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)),
		"tampered claims":  parts[0] + "." + enc([]byte(`{"sub":"admin","aud":["shop-internal"],"exp":9999999999}`)) + "." + parts[2],
		"tampered sig":     parts[0] + "." + parts[1] + "." + enc([]byte("not the signature")),
		"HS512":            sign(jwt.SigningMethodHS512, s.key, claims(nil)),
		"other secret":     sign(jwt.SigningMethodHS256, NewServiceTokens([]byte(strings.Repeat("o", 40)), "svc").key, claims(nil)),
		"raw JWT secret":   sign(jwt.SigningMethodHS256, serviceSecret, claims(nil)),
		"user token":       userToken,
		"user audience":    sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{Audience} })),
		"no audience":      sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.Audience = nil })),
		"expired":          sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })),
		"no expiry":        sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })),
		"issued in future": sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"not yet valid":    sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"no subject":       sign(jwt.SigningMethodHS256, s.key, claims(func(c *jwt.RegisteredClaims) { c.Subject = "" })),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc, err := s.Verify(tok)
			if !errors.Is(err, ErrInvalidServiceToken) || svc != "" {
				t.Fatalf("accepted: %q %v", svc, err)
			}
		})
	}
}

// A service token is not a user token either.
func TestServiceTokenIsNoAccessToken(t *testing.T) {
	t.Parallel()
	s, _ := serviceTokens("svc")
	tok, _ := s.Token()
	if p, err := NewVerifier(userSigner(t)).Verify(context.Background(), tok); err == nil {
		t.Fatalf("a service token passed as the user %+v", p)
	}
}

func TestRequireService(t *testing.T) {
	t.Parallel()
	s, _ := serviceTokens("svc")
	good, _ := s.Token()
	h := s.RequireService(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for name, tc := range map[string]struct {
		header, value string
		status        int
	}{
		"service token":        {ServiceHeader, good, http.StatusNoContent},
		"none":                 {"", "", http.StatusUnauthorized},
		"bad":                  {ServiceHeader, "x", http.StatusUnauthorized},
		"in Authorization":     {"Authorization", "Bearer " + good, http.StatusUnauthorized},
		"service token bearer": {ServiceHeader, "Bearer " + good, http.StatusUnauthorized},
	} {
		r := httptest.NewRequest(http.MethodPost, "/internal/x/Y", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", name, rec.Code, tc.status)
		}
		if rec.Code == http.StatusUnauthorized && !strings.Contains(rec.Body.String(), ErrInvalidServiceToken.Code) {
			t.Errorf("%s: %s", name, rec.Body)
		}
	}
}
