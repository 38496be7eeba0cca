package auth_test

import (
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

var secret = []byte(strings.Repeat("k", 40))

func tokens(t *testing.T) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func good() jwt.MapClaims {
	return jwt.MapClaims{"iss": auth.Issuer, "aud": auth.Audience, "sub": uuid.NewString(), "role": "customer",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	tk := tokens(t)
	p := auth.Principal{UserID: uuid.New(), Role: auth.Admin}
	valid, _, err := tk.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tk.Verify(valid); err != nil || got != p {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	parts := strings.Split(valid, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	for name, tok := range map[string]string{
		"alg none":        none,
		"tampered claims": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","role":"admin"}`)) + "." + parts[2],
		"other secret":    sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 40)), good()),
		"HS512":           sign(t, jwt.SigningMethodHS512, secret, good()),
		"expired":         sign(t, jwt.SigningMethodHS256, secret, with("exp", time.Now().Add(-time.Minute).Unix())),
		"no expiry":       sign(t, jwt.SigningMethodHS256, secret, without("exp")),
		"other issuer":    sign(t, jwt.SigningMethodHS256, secret, with("iss", "evil")),
		"other audience":  sign(t, jwt.SigningMethodHS256, secret, with("aud", "other")),
		"unknown role":    sign(t, jwt.SigningMethodHS256, secret, with("role", "root")),
		"bad subject":     sign(t, jwt.SigningMethodHS256, secret, with("sub", "me")),
		"garbage":         "a.b.c",
	} {
		if _, err := tk.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	tk := tokens(t)
	g := auth.NewGuard(tk)
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
