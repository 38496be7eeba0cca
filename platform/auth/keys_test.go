package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modmono/shop/platform/auth"
)

// The example of RFC 8037 (appendix A): its key's thumbprint (RFC 7638) is
// the key ID.
func TestKeyIDIsTheRFC7638Thumbprint(t *testing.T) {
	t.Parallel()
	seed, _ := base64.RawURLEncoding.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if x := base64.RawURLEncoding.EncodeToString(pub); x != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" {
		t.Fatalf("x %s", x)
	}
	if got := auth.KeyID(pub); got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Fatalf("kid %s", got)
	}
}

func TestParsePrivateKeys(t *testing.T) {
	t.Parallel()
	a, _ := auth.GenerateKeyPEM()
	b, _ := auth.GenerateKeyPEM()
	keys, err := auth.ParsePrivateKeys(a + b)
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	if one, err := auth.ParsePrivateKeys(strings.ReplaceAll(strings.TrimSpace(a), "\n", `\n`)); err != nil || !one[0].Equal(keys[0]) {
		t.Fatalf("one line with \\n: %v", err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(mustRSA(t))
	for name, text := range map[string]string{
		"empty":          "",
		"not PEM":        "ed25519 please",
		"RSA":            string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"trailing text":  a + "oops",
		"broken PKCS #8": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		if _, err := auth.ParsePrivateKeys(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The JWKS a signer serves reads back as its keys, and a set whose kid is
// not the key's thumbprint is refused.
func TestJWKS(t *testing.T) {
	t.Parallel()
	old, next := newKey(t), newKey(t)
	s := signer(t, next, old)
	rec := httptest.NewRecorder()
	auth.JWKSHandler(s).ServeHTTP(rec, httptest.NewRequest("GET", auth.JWKSPath, nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") == "" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	keys, err := auth.ParseJWKS(rec.Body.Bytes())
	if err != nil || len(keys) != 2 || !keys[kidOf(old)].Equal(old.Public()) || !keys[kidOf(next)].Equal(next.Public()) {
		t.Fatalf("%v %v\n%s", keys, err, rec.Body)
	}
	var set auth.JWKS
	_ = json.Unmarshal(rec.Body.Bytes(), &set)
	if k := set.Keys[0]; k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.Kid != kidOf(next) {
		t.Fatalf("first key %+v", k)
	}
	set.Keys[0].Kid = kidOf(old)
	lying, _ := json.Marshal(set)
	if _, err := auth.ParseJWKS(lying); err == nil {
		t.Fatal("a key under another key's kid was accepted")
	}
	if _, err := auth.ParseJWKS([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("an empty set was accepted")
	}
	// A process that knows no key answers 503.
	rec = httptest.NewRecorder()
	auth.JWKSHandler(auth.NoKeys{}).ServeHTTP(rec, httptest.NewRequest("GET", auth.JWKSPath, nil).WithContext(context.Background()))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "auth.keys_unavailable") {
		t.Fatalf("no keys: %d %s", rec.Code, rec.Body)
	}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
