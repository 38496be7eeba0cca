package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/httpx"
)

// JWKSPath is where the process running the issuing module publishes the
// public keys of user tokens (a JSON Web Key Set, RFC 7517).
const JWKSPath = "/.well-known/jwks.json"

// ErrUnknownKey means a token names a key (kid) that the issuer does not publish.
var ErrUnknownKey = errors.New("auth: the token's signing key is not published by identity")

// PublicKeys are the Ed25519 keys that verify user tokens, by key ID (kid).
type PublicKeys map[string]ed25519.PublicKey

// A KeySource finds the public key a user token names. Identity's signer
// is one (in its own process); RemoteKeys is the other (everywhere else).
type KeySource interface {
	// Key returns the published key with ID kid, or ErrUnknownKey.
	Key(ctx context.Context, kid string) (ed25519.PublicKey, error)
	// PublicKeys returns every published key.
	PublicKeys(ctx context.Context) (PublicKeys, error)
}

// KeyID is the ID of an Ed25519 public key: its JWK thumbprint (RFC 7638),
// so every process derives the same ID from the key alone.
func KeyID(pub ed25519.PublicKey) string {
	// RFC 7638 §3.2: the required members of an OKP key, in lexicographic
	// order, without whitespace.
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// JWK is one public key of a JWKS, as RFC 8037 writes an Ed25519 key.
type JWK struct {
	Kty string `json:"kty"` // "OKP"
	Crv string `json:"crv"` // "Ed25519"
	X   string `json:"x"`   // the public key, base64url without padding
	Kid string `json:"kid"`
	Alg string `json:"alg"` // "EdDSA"
	Use string `json:"use"` // "sig"
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns k as a key set, ordered by key ID.
func (k PublicKeys) JWKS() JWKS { return k.jwks(slices.Sorted(maps.Keys(k))) }

// jwks returns k as a key set, in the order of ids.
func (k PublicKeys) jwks(ids []string) JWKS {
	set := JWKS{Keys: []JWK{}}
	for _, kid := range ids {
		set.Keys = append(set.Keys, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k[kid]),
			Kid: kid, Alg: "EdDSA", Use: "sig"})
	}
	return set
}

// ParseJWKS reads the Ed25519 signing keys of a key set. A key of another
// type or use is skipped; a key whose kid is not its thumbprint is an error
// (identity never publishes one, so the set is not identity's).
func ParseJWKS(b []byte) (PublicKeys, error) {
	var set JWKS
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("auth: a JWKS: %w", err)
	}
	keys := PublicKeys{}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "EdDSA") {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("auth: JWKS key %q: x is not an Ed25519 public key", k.Kid)
		}
		if KeyID(x) != k.Kid {
			return nil, fmt.Errorf("auth: JWKS key %q: its kid is not its thumbprint", k.Kid)
		}
		keys[k.Kid] = x
	}
	if len(keys) == 0 {
		return nil, errors.New("auth: the JWKS holds no Ed25519 signing key")
	}
	return keys, nil
}

// ParsePrivateKeys reads the Ed25519 private keys of APP_JWT_PRIVATE_KEY:
// PEM blocks of PKCS #8 ("PRIVATE KEY"), the first of which signs. A value
// written on one line with literal \n (an env file) is read too.
func ParsePrivateKeys(text string) ([]ed25519.PrivateKey, error) {
	if !strings.Contains(text, "\n") {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	rest := []byte(text)
	var keys []ed25519.PrivateKey
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", len(keys)+1, err)
		}
		ed, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PEM block %d: a %T, not an Ed25519 key", len(keys)+1, k)
		}
		keys = append(keys, ed)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block of an Ed25519 private key (openssl genpkey -algorithm ed25519)")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("text after the last PEM block")
	}
	return keys, nil
}

// GenerateKeyPEM returns a new Ed25519 private key as a PKCS #8 PEM block,
// as `openssl genpkey -algorithm ed25519` writes it.
func GenerateKeyPEM() (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ErrKeysUnavailable means this process could not get identity's public keys (GET
// /.well-known/jwks.json of APP_REMOTE_IDENTITY) and has none from before. Retry later;
// /health/ready of the process running identity says whether it is up.
var ErrKeysUnavailable = apperr.New(apperr.KindUnavailable, "auth.keys_unavailable",
	"the public keys of user tokens are unavailable; retry later")

// JWKSHandler serves the public keys of keys as a JWKS (GET JWKSPath),
// cacheable for five minutes: a verifier elsewhere refetches sooner only
// for a key ID it does not know.
func JWKSHandler(keys KeySource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var set JWKS
		if s, ok := keys.(*Signer); ok {
			set = s.JWKS() // the signing key first
		} else if pubs, err := keys.PublicKeys(r.Context()); err != nil {
			httpx.WriteError(w, r, nil, ErrKeysUnavailable.Wrap(err))
			return
		} else {
			set = pubs.JWKS()
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		httpx.WriteJSON(w, http.StatusOK, set)
	})
}
