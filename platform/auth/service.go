package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/httpx"
)

// ServiceHeader carries a service token on calls between the processes of
// one deployment. It is not Authorization, so a proxied public request can
// carry the user's token and the gateway's service token side by side.
const ServiceHeader = "X-Service-Token"

// ServiceAudience is the audience of service tokens: an access token for
// users (audience shop-api) is never accepted as one, nor the reverse.
const ServiceAudience = "shop-internal"

// ForwardAudience is the audience of the token a gateway puts on a public
// request it forwards to a module. It vouches for the request's
// X-Forwarded-For and nothing more: it never opens /internal, so a forwarded
// path that some hop normalises into /internal/... gets 401.
const ForwardAudience = "shop-forwarded"

// ServiceTokenTTL is a service token's lifetime: short, so a leaked token
// is soon worthless; callers renew it well before it expires.
const ServiceTokenTTL = 2 * time.Minute

// ErrInvalidServiceToken means a call to /internal/... came without a valid service token. Those
// endpoints serve the shop's own processes only; every process of a deployment must share
// APP_JWT_SECRET.
var ErrInvalidServiceToken = apperr.New(apperr.KindUnauthenticated, "auth.invalid_service_token",
	"this endpoint is for the shop's own services: a valid service token is required")

// ServiceTokens issues and verifies the short-lived tokens processes present
// to each other. Their key is derived from the deployment's JWT secret, so
// no other secret has to be distributed, yet a user token cannot pass for one.
type ServiceTokens struct {
	key     []byte
	service string // who this process is, the subject of its tokens
	now     func() time.Time

	mu     sync.Mutex
	issued map[string]issued // by audience
}

type issued struct {
	token   string
	expires time.Time
}

// NewServiceTokens returns the service tokens of the process called service
// (e.g. "monolith" or "payments"), keyed by the deployment's JWT secret.
func NewServiceTokens(jwtSecret []byte, service string) *ServiceTokens {
	mac := hmac.New(sha256.New, jwtSecret)
	mac.Write([]byte("shop service tokens v1"))
	return &ServiceTokens{key: mac.Sum(nil), service: service, now: time.Now, issued: map[string]issued{}}
}

// Token returns a valid service token of this process, for its calls to
// other processes' /internal endpoints.
func (s *ServiceTokens) Token() (string, error) { return s.token(ServiceAudience) }

// ForwardToken returns a valid token for the public requests this process
// forwards (ForwardAudience).
func (s *ServiceTokens) ForwardToken() (string, error) { return s.token(ForwardAudience) }

// token returns a token for audience, renewed when half its lifetime has passed.
func (s *ServiceTokens) token(audience string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if t, ok := s.issued[audience]; ok && now.Before(t.expires.Add(-ServiceTokenTTL/2)) {
		return t.token, nil
	}
	c := jwt.RegisteredClaims{
		Issuer:    s.service,
		Subject:   s.service,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ServiceTokenTTL)),
		ID:        uuid.NewString(),
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", err
	}
	s.issued[audience] = issued{token: token, expires: now.Add(ServiceTokenTTL)}
	return token, nil
}

// Verify checks a service token and returns the calling service's name.
func (s *ServiceTokens) Verify(token string) (string, error) { return s.verify(token, ServiceAudience) }

// VerifyForwarded checks the token of a forwarded request (ForwardAudience)
// and returns the forwarding service's name.
func (s *ServiceTokens) VerifyForwarded(token string) (string, error) {
	return s.verify(token, ForwardAudience)
}

func (s *ServiceTokens) verify(token, audience string) (string, error) {
	var c jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return "", ErrInvalidServiceToken.Wrap(err)
	}
	if c.Subject == "" {
		return "", ErrInvalidServiceToken.Wrap(errors.New("no subject"))
	}
	return c.Subject, nil
}

// RequireService admits only requests carrying a valid service token in
// ServiceHeader; the rest get 401 auth.invalid_service_token.
func (s *ServiceTokens) RequireService(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.Verify(r.Header.Get(ServiceHeader)); err != nil {
			httpx.WriteError(w, r, nil, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
