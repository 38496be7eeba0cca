package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/auth"
)

// newKey returns a fresh Ed25519 private key.
func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signer(t testing.TB, keys ...ed25519.PrivateKey) *auth.Signer {
	t.Helper()
	s, err := auth.NewSigner(keys, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func kidOf(k ed25519.PrivateKey) string { return auth.KeyID(k.Public().(ed25519.PublicKey)) }

// sign signs c with method and key, naming kid in the header when not empty.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func good() jwt.MapClaims {
	return jwt.MapClaims{"iss": auth.Issuer, "aud": auth.Audience, "sub": uuid.NewString(), "role": "customer",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
}

// TestVerify: only a token signed by a published key, with the algorithm
// pinned to EdDSA, and with good claims, passes. Each refused case is an
// attack on a verifier that trusted the token's header.
func TestVerify(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	kid := kidOf(key)
	tk := signer(t, key)
	v := auth.NewVerifier(tk)
	p := auth.Principal{UserID: uuid.New(), Role: auth.Admin}
	valid, _, err := tk.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify(context.Background(), valid); err != nil || got != p {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	pub := key.Public().(ed25519.PublicKey)
	x := tk.JWKS().Keys[0].X
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	for name, tok := range map[string]string{
		"alg none":               enc([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + parts[1] + ".",
		"tampered claims":        parts[0] + "." + enc([]byte(`{"sub":"x","role":"admin"}`)) + "." + parts[2],
		"other key, its kid":     sign(t, jwt.SigningMethodEdDSA, newKey(t), kid, good()),
		"foreign kid":            sign(t, jwt.SigningMethodEdDSA, key, "foreign", good()),
		"foreign key and kid":    func() string { k := newKey(t); return sign(t, jwt.SigningMethodEdDSA, k, kidOf(k), good()) }(),
		"no kid":                 sign(t, jwt.SigningMethodEdDSA, key, "", good()),
		"HS256, public key":      sign(t, jwt.SigningMethodHS256, []byte(pub), kid, good()),
		"HS256, JWKS x":          sign(t, jwt.SigningMethodHS256, []byte(x), kid, good()),
		"HS256, PEM of the key":  sign(t, jwt.SigningMethodHS256, []byte(pemOf(t, pub)), kid, good()),
		"expired":                sign(t, jwt.SigningMethodEdDSA, key, kid, with("exp", time.Now().Add(-time.Minute).Unix())),
		"no expiry":              sign(t, jwt.SigningMethodEdDSA, key, kid, without("exp")),
		"other issuer":           sign(t, jwt.SigningMethodEdDSA, key, kid, with("iss", "evil")),
		"other audience":         sign(t, jwt.SigningMethodEdDSA, key, kid, with("aud", "other")),
		"unknown role":           sign(t, jwt.SigningMethodEdDSA, key, kid, with("role", "root")),
		"bad subject":            sign(t, jwt.SigningMethodEdDSA, key, kid, with("sub", "me")),
		"garbage":                "a.b.c",
		"service token secret":   sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("j", 40)), "", good()),
		"kid names other header": sign(t, jwt.SigningMethodEdDSA, key, "../"+kid, good()),
	} {
		if _, err := v.Verify(context.Background(), tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func pemOf(t *testing.T, pub ed25519.PublicKey) string {
	t.Helper()
	return "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(pub) + "\n-----END PUBLIC KEY-----\n"
}

// TestRotation: with a new key put first, tokens of the previous key stay
// valid (sessions kept) and new tokens use the new key; once the old key
// is no longer given, its tokens are refused.
func TestRotation(t *testing.T) {
	t.Parallel()
	old, next := newKey(t), newKey(t)
	before := signer(t, old)
	session, _, _ := before.Issue(auth.Principal{UserID: uuid.New(), Role: auth.Customer})

	rotated := signer(t, next, old)
	v := auth.NewVerifier(rotated)
	if _, err := v.Verify(context.Background(), session); err != nil {
		t.Fatalf("a session of the previous key after rotation: %v", err)
	}
	fresh, _, _ := rotated.Issue(auth.Principal{UserID: uuid.New(), Role: auth.Customer})
	if h, _, _ := jwt.NewParser().ParseUnverified(fresh, jwt.MapClaims{}); h.Header["kid"] != kidOf(next) {
		t.Fatalf("new tokens signed by %v, want the first key %s", h.Header["kid"], kidOf(next))
	}
	if got := rotated.JWKS().Keys; len(got) != 2 || got[0].Kid != kidOf(next) || got[1].Kid != kidOf(old) {
		t.Fatalf("JWKS %+v: want the new key, then the old", got)
	}
	retired := auth.NewVerifier(signer(t, next))
	if _, err := retired.Verify(context.Background(), session); err == nil {
		t.Fatal("a token of a key no longer published was accepted")
	}
	if _, err := retired.Verify(context.Background(), fresh); err != nil {
		t.Fatal(err)
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	tk := signer(t, newKey(t))
	g := auth.NewGuard(auth.NewVerifier(tk))
	admin, _, _ := tk.Issue(auth.Principal{UserID: uuid.New(), Role: auth.Admin})
	customer, _, _ := tk.Issue(auth.Principal{UserID: uuid.New(), Role: auth.Customer})
	h := g.Authenticate(g.Require(auth.Admin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); !ok || p.Role != auth.Admin {
			t.Errorf("principal %+v", p)
		}
	})))
	for name, tc := range map[string]struct {
		header string
		status int
	}{
		"admin":          {"Bearer " + admin, 200},
		"scheme in caps": {"BEARER " + admin, 200},
		"customer":       {"Bearer " + customer, 403},
		"anonymous":      {"", 401},
		"bad token":      {"Bearer nope", 401},
		"basic auth":     {"Basic YWRtaW46YWRtaW4=", 401},
		"empty bearer":   {"Bearer ", 401},
	} {
		req := httptest.NewRequest("POST", "/x", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", name, rec.Code, tc.status)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", name)
		}
	}
}

// A process that knows no identity accepts no user token.
func TestNoKeys(t *testing.T) {
	t.Parallel()
	tok, _, _ := signer(t, newKey(t)).Issue(auth.Principal{UserID: uuid.New(), Role: auth.Admin})
	if _, err := auth.NewVerifier(auth.NoKeys{}).Verify(context.Background(), tok); err == nil {
		t.Fatal("accepted")
	}
}
