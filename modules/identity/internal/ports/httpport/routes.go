// Package httpport serves identity's part of the public HTTP API (SPEC §4):
// registration and login, both public and rate limited per client IP.
package httpport

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/ratelimit"
)

// The default request budgets of the auth routes.
const (
	DefaultLoginLimit    = 10 // login attempts per client IP and window
	DefaultRegisterLimit = 20 // registrations per client IP and window
	DefaultWindow        = time.Minute
)

// Limits are the request budgets of the auth routes, counted per client IP
// (httpx.ByClientIP) by the process's limiter: in Redis across instances
// when APP_REDIS_URL is set, else by each process on its own. A zero field
// takes its default; tests set lower ones.
type Limits struct {
	Login    int           // login attempts per Window; default DefaultLoginLimit
	Register int           // registrations per Window; default DefaultRegisterLimit
	Window   time.Duration // default DefaultWindow
}

func (l Limits) withDefaults() Limits {
	if l.Login <= 0 {
		l.Login = DefaultLoginLimit
	}
	if l.Register <= 0 {
		l.Register = DefaultRegisterLimit
	}
	if l.Window <= 0 {
		l.Window = DefaultWindow
	}
	return l
}

type handlers struct{ api identityapi.API }

// Mount adds the identity routes to the /api/v1 router. Each route has its
// own budget, so registering does not use up logins.
func Mount(r chi.Router, api identityapi.API, guard *auth.Guard, limiter *ratelimit.Limiter, limits Limits, log *zap.Logger) {
	limits = limits.withDefaults()
	h := handlers{api: api}
	me := r.With(guard.Require(auth.Customer, auth.Admin))
	me.Get("/users/me", httpx.Handle(log, h.me))
	me.Put("/users/me", httpx.Handle(log, h.updateMe))
	registering := ratelimit.Rule{Name: "identity.register", Limit: limits.Register, Window: limits.Window}
	loggingIn := ratelimit.Rule{Name: "identity.login", Limit: limits.Login, Window: limits.Window}
	r.With(limiter.Limit(registering, httpx.ByClientIP)).Post("/auth/register", httpx.Handle(log, h.register))
	r.With(limiter.Limit(loggingIn, httpx.ByClientIP)).Post("/auth/login", httpx.Handle(log, h.login))
}

func (h handlers) register(w http.ResponseWriter, r *http.Request) error {
	var in identityapi.RegisterInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	reg, err := h.api.Register(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, reg)
	return nil
}

func (h handlers) login(w http.ResponseWriter, r *http.Request) error {
	var in identityapi.LoginInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	tok, err := h.api.Login(r.Context(), in)
	if err != nil {
		return err
	}
	// A token response must not be cached (RFC 6749 §5.1).
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, tok)
	return nil
}

func (h handlers) me(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	u, err := h.api.GetUser(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) updateMe(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	var in identityapi.ProfileInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	u, err := h.api.UpdateProfile(r.Context(), p.UserID, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}
