package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// The issuer and audience every token names; a token for another system is refused.
const (
	Issuer   = "shop-identity"
	Audience = "shop-api"
)

// MinSecretLen is the shortest APP_JWT_SECRET accepted.
const MinSecretLen = 32

// userAlg is the only algorithm of user tokens. Pinning it is what makes
// algorithm confusion impossible: a token saying HS256 (the public key as
// its HMAC secret) or none is refused before any key is looked up.
var userAlg = jwt.SigningMethodEdDSA

// Signer issues user access tokens with the first of its Ed25519 keys and
// publishes the public half of all of them, so tokens signed by a key that
// was rotated out of first place stay valid until they expire. Only the
// process running identity has one. It is safe for concurrent use.
type Signer struct {
	keys []ed25519.PrivateKey
	kids []string
	pubs PublicKeys
	ttl  time.Duration
	now  func() time.Time
}

// NewSigner returns a signer over keys (the first signs); ttl is an access
// token's lifetime.
func NewSigner(keys []ed25519.PrivateKey, ttl time.Duration) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no signing key")
	}
	s := &Signer{keys: keys, pubs: PublicKeys{}, ttl: ttl, now: time.Now}
	for _, k := range keys {
		pub, _ := k.Public().(ed25519.PublicKey)
		kid := KeyID(pub)
		if _, dup := s.pubs[kid]; dup {
			return nil, fmt.Errorf("auth: key %s is given twice", kid)
		}
		s.kids, s.pubs[kid] = append(s.kids, kid), pub
	}
	return s, nil
}

type claims struct {
	Role Role `json:"role"`
	jwt.RegisteredClaims
}

// Issue signs a token for p and returns it with its lifetime.
func (s *Signer) Issue(p Principal) (string, time.Duration, error) {
	now := s.now()
	c := claims{Role: p.Role, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   p.UserID.String(),
		Audience:  jwt.ClaimStrings{Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		ID:        uuid.NewString(),
	}}
	t := jwt.NewWithClaims(userAlg, c)
	t.Header["kid"] = s.kids[0]
	tok, err := t.SignedString(s.keys[0])
	return tok, s.ttl, err
}

// Key returns the public key kid of one of the signer's keys.
func (s *Signer) Key(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := s.pubs[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// PublicKeys returns the public keys of all the signer's keys.
func (s *Signer) PublicKeys(context.Context) (PublicKeys, error) { return s.pubs, nil }

// JWKS returns the signer's public keys as a key set, the signing key first.
func (s *Signer) JWKS() JWKS { return s.pubs.jwks(s.kids) }

// Verifier checks user access tokens against the keys identity publishes.
// It is safe for concurrent use.
type Verifier struct {
	keys     KeySource
	now      func() time.Time
	verified verifiedTokens
}

// NewVerifier returns a verifier of the tokens signed by the keys of keys.
func NewVerifier(keys KeySource) *Verifier {
	return &Verifier{keys: keys, now: time.Now, verified: verifiedTokens{m: map[string]verifiedToken{}}}
}

// Keys returns the source of the verifier's keys.
func (v *Verifier) Keys() KeySource { return v.keys }

// leeway is the clock skew tolerated on a token's times.
const leeway = 5 * time.Second

// Verify checks a token's signature (EdDSA by a key identity publishes,
// named by its kid: "none", HS256 and every other algorithm are refused),
// issuer, audience and expiry, and returns its caller.
//
// A client sends the same token with every request, and checking its
// signature and decoding it again was most of what authenticating cost
// (9 % of the app's CPU under the order intake). So a token that passed is
// remembered until it expires; a repeat only asks the key source whether
// the key that signed it is still the one it names, so a key withdrawn
// since stops its tokens at once, as before.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	now := v.now()
	if t, ok := v.verified.get(token); ok && now.Before(t.expires.Add(leeway)) {
		if key, err := v.keys.Key(ctx, t.kid); err == nil && key.Equal(t.key) {
			return t.principal, nil
		}
	}
	var c claims
	var kid string
	var key ed25519.PublicKey
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		var err error
		key, err = v.keys.Key(ctx, kid)
		return key, err
	},
		jwt.WithValidMethods([]string{userAlg.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
		jwt.WithLeeway(leeway),
	)
	if err != nil {
		return Principal{}, ErrInvalidToken.Wrap(err)
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil || !c.Role.Valid() {
		return Principal{}, ErrInvalidToken.Wrap(errors.New("bad subject or role"))
	}
	p := Principal{UserID: id, Role: c.Role}
	v.verified.put(token, verifiedToken{principal: p, expires: c.ExpiresAt.Time, kid: kid, key: key})
	return p, nil
}

// verifiedTokens remembers tokens that passed Verify, up to maxVerified:
// past it, an arbitrary one is forgotten for each new one.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	principal Principal
	expires   time.Time
	kid       string
	key       ed25519.PublicKey // the key that signed it
}

const maxVerified = 4096

func (c *verifiedTokens) get(token string) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[token]
	return t, ok
}

func (c *verifiedTokens) put(token string, t verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxVerified {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[token] = t
}

// NoKeys is the key source of a process that neither runs identity nor
// knows where it runs: it knows no key, so it accepts no user token.
type NoKeys struct{}

// Key always answers ErrUnknownKey.
func (NoKeys) Key(context.Context, string) (ed25519.PublicKey, error) { return nil, ErrUnknownKey }

// PublicKeys always answers ErrUnknownKey.
func (NoKeys) PublicKeys(context.Context) (PublicKeys, error) { return nil, ErrUnknownKey }
