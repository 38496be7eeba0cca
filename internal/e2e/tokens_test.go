package e2e_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
)

// forgedTokensRefused: only identity's key makes a user token. Tokens
// signed by anything else (another key under identity's kid, a foreign kid,
// HS256 keyed by identity's public key, none, the shared APP_JWT_SECRET a
// compromised process holds, a service token) or expired get 401
// auth.invalid_token, on routes of the entry process and of every module,
// wherever identity runs. The entry publishes identity's keys.
func forgedTokensRefused(t *testing.T, s *shop) {
	r := s.entry.do("GET", auth.JWKSPath, nil)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", auth.JWKSPath, r.status, r.body)
	}
	var set auth.JWKS
	r.json(t, &set)
	keys, err := auth.ParseJWKS(r.body)
	kid := s.key.Signer.JWKS().Keys[0].Kid
	if err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != kid || keys[kid] == nil {
		t.Fatalf("the JWKS does not publish identity's key %s (%v): %s", kid, err, r.body)
	}
	pub, x := keys[kid], set.Keys[0].X

	now := time.Now()
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"iss": auth.Issuer, "aud": auth.Audience, "sub": uuid.NewString(), "role": "admin",
			"iat": now.Add(-2 * time.Hour).Unix(), "exp": exp.Unix()}
	}
	sign := func(m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	valid := claims(now.Add(time.Hour))
	service, err := auth.NewServiceTokens([]byte(s.env["APP_JWT_SECRET"]), "notifications").Token()
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	forged := map[string]string{
		"another key under identity's kid": sign(jwt.SigningMethodEdDSA, other, kid, valid),
		"a foreign kid":                    sign(jwt.SigningMethodEdDSA, other, auth.KeyID(other.Public().(ed25519.PublicKey)), valid),
		"HS256 keyed by the public key":    sign(jwt.SigningMethodHS256, []byte(pub), kid, valid),
		"HS256 keyed by the JWKS x":        sign(jwt.SigningMethodHS256, []byte(x), kid, valid),
		"alg none":                         enc([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + strings.Split(sign(jwt.SigningMethodHS256, []byte(x), kid, valid), ".")[1] + ".",
		"HS256 keyed by APP_JWT_SECRET":    sign(jwt.SigningMethodHS256, []byte(s.env["APP_JWT_SECRET"]), "", valid),
		"expired, identity's key":          sign(jwt.SigningMethodEdDSA, keyOf(t, s.key), kid, claims(now.Add(-time.Minute))),
		"a service token":                  service,
	}
	routes := []string{
		"/api/v1/users/me",                              // identity
		"/api/v1/admin/outbox",                          // the entry's admin views
		"/api/v1/payments?order_id=" + uuid.NewString(), // payments
		"/api/v1/notifications",                         // notifications
	}
	for name, tok := range forged {
		for _, path := range routes {
			r := s.entry.as(tok).do("GET", path, nil)
			if r.status != 401 || !strings.Contains(string(r.body), `"auth.invalid_token"`) {
				t.Errorf("%s on %s: %d %.200s", name, path, r.status, r.body)
			}
		}
	}
	// The real key opens them (a control: the routes are reachable).
	if r := s.entry.as(s.token(t, auth.Admin)).do("GET", "/api/v1/admin/outbox", nil); r.status != 200 {
		t.Errorf("identity's own token: %d %s", r.status, r.body)
	}
}

// keyOf returns the private key of k, read back from its PEM.
func keyOf(t *testing.T, k authtest.Key) ed25519.PrivateKey {
	t.Helper()
	keys, err := auth.ParsePrivateKeys(k.PEM)
	if err != nil {
		t.Fatal(err)
	}
	return keys[0]
}

// TestKeyRotation: identity (extracted) is restarted with a new key first
// and the old one still given; sessions of the old key go on, on identity's
// routes and on the monolith's, which fetches the new key when it first
// meets its kid. Restarted without the old key, identity refuses the old
// sessions.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	s := deploy(t, topology{name: "identity-extracted", bus: "amqp", extract: []string{"identity"}})
	old := s.entry.newCustomer(t).client
	for _, path := range []string{"/api/v1/users/me", "/api/v1/orders"} {
		if r := old.do("GET", path, nil); r.status != 200 {
			t.Fatalf("before rotation, GET %s: %d %s", path, r.status, r.body)
		}
	}
	next := authtest.NewKey(t)
	restartIdentity := func(keys string) {
		t.Helper()
		_ = s.procs["identity"].signal(syscall.SIGTERM)
		s.specs["identity"].env["APP_JWT_PRIVATE_KEY"] = keys
		s.restart(t, "identity")
	}
	restartIdentity(next.PEM + s.key.PEM)

	fresh := s.entry.newCustomer(t).client
	if h, _, _ := jwt.NewParser().ParseUnverified(fresh.bearer, jwt.MapClaims{}); h.Header["kid"] != next.Signer.JWKS().Keys[0].Kid {
		t.Fatalf("a new login's token names kid %v, want the new key's", h.Header["kid"])
	}
	// The monolith fetched identity's keys before: it refetches on the
	// unknown kid once its rate limit allows.
	eventually(t, "the monolith to accept a token of the new key", func() bool {
		return fresh.do("GET", "/api/v1/orders", nil).status == 200
	})
	for _, path := range []string{"/api/v1/users/me", "/api/v1/orders"} {
		if r := old.do("GET", path, nil); r.status != 200 {
			t.Errorf("after rotation, the old session on GET %s: %d %s", path, r.status, r.body)
		}
	}

	restartIdentity(next.PEM)
	if r := old.do("GET", "/api/v1/users/me", nil); r.status != 401 {
		t.Errorf("a token of a key no longer published: %d %s", r.status, r.body)
	}
	if r := fresh.do("GET", "/api/v1/users/me", nil); r.status != 200 {
		t.Errorf("a token of the current key: %d %s", r.status, r.body)
	}
}
