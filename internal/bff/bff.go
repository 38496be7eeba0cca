// Package bff is the storefront's backend for frontend, served under /bff/.
// Its answers are shaped for the storefront's screens (a product card, a
// priced cart, an order with its payment), composed from the modules' Go
// interfaces, so it works the same whether a module runs in this process or
// in another one.
//
// Design:
//   - Every module call has its own deadline (CallTimeout). A screen that
//     can be shown without one side shows without it and names the side in
//     "degraded" (home and product pages without stock figures, an order
//     without its payment); only a screen whose core is missing fails (503).
//   - The browser never holds the access token: login puts it in an
//     HttpOnly, SameSite=Strict cookie scoped to /bff (Secure outside
//     development), and the BFF reads it back on each request. State-changing
//     routes are guarded against cross-site requests (see session.go).
//   - Live screens use Server-Sent Events woken by the system's events
//     (see live.go); the page runs no polling loop.
//   - No over-fetching: a screen's route asks each module once for what the
//     screen shows, no more.
package bff

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/ratelimit"
)

// Prefix is where the BFF is mounted.
const Prefix = "/bff"

// CallTimeout bounds each module call made for a screen.
const CallTimeout = 2 * time.Second

// Sides of a composition, as named in an answer's "degraded" list.
const (
	SideCatalog   = "catalog"
	SideInventory = "inventory"
	SidePayments  = "payments"
	SideIdentity  = "identity"
)

// Errors of the BFF's own rules; the modules' errors pass through as they are.
var (
	// ErrUnavailable means the module a storefront screen is built from did not answer in time.
	// Parts from other modules degrade instead (the answer lists them in "degraded"); retry in a
	// moment, and see the console's module map for which module is down.
	ErrUnavailable = apperr.New(apperr.KindUnavailable, "bff.unavailable", "the services behind this screen are unavailable; retry later")
	// ErrInvalidCart means the cart sent to be priced or checked out is empty, too long or has a
	// quantity out of range. Keep 1 to 50 lines, each of 1 to 99 units.
	ErrInvalidCart = apperr.New(apperr.KindInvalid, "bff.invalid_cart", "the cart must have 1-50 lines of products with quantities 1-99")
	// ErrInvalidPaymentToken means the checkout named a payment token the fake provider does not
	// know. Choose one of the test cards: tok_ok, tok_decline or tok_slow.
	ErrInvalidPaymentToken = apperr.New(apperr.KindInvalid, "bff.invalid_payment_token", "the payment token must be tok_ok, tok_decline or tok_slow")
	// ErrInvalidStockQuery means the live stock stream was asked for something other than a list of
	// 1 to 100 product IDs. Send ids=<uuid>,<uuid>,...
	ErrInvalidStockQuery = apperr.New(apperr.KindInvalid, "bff.invalid_stock_query", "ids must list 1-100 product UUIDs separated by commas")
	// ErrCrossSiteRequest means a state-changing request to the BFF came from another site, or
	// without the storefront's X-Shop-Client header: it is refused against cross-site request
	// forgery. Use the storefront's pages, or the public API under /api/v1 from scripts.
	ErrCrossSiteRequest = apperr.New(apperr.KindForbidden, "bff.cross_site_request", "this request must come from the storefront's own pages")
)

// APIs are the module interfaces the BFF composes, local or remote.
type APIs struct {
	fx.In
	Catalog       catalogapi.API
	Inventory     inventoryapi.API
	Ordering      orderingapi.API
	Identity      identityapi.API
	Notifications notificationsapi.API
	Payments      paymentsapi.API
}

// Options are the BFF's knobs; the zero value is usable.
type Options struct {
	// SecureCookie marks the session cookie Secure (HTTPS only). Default
	// false; the process sets it outside development.
	SecureCookie bool
	// CallTimeout bounds each module call. Default: CallTimeout.
	CallTimeout time.Duration
	// Recheck is how often a live order stream re-reads the order even
	// without an event, in case one was missed. Default: 3 s.
	Recheck time.Duration
	// MaxStream bounds a live stream; the browser then reconnects.
	// Default: 5 minutes.
	MaxStream time.Duration
	// Stopping, when closed, ends every live stream: the server is shutting
	// down and must not wait for them. Default: nil (never).
	Stopping <-chan struct{}
	// LoginRate, RegisterRate and OrderRate limit logins and registrations
	// per minute per client address and orders per minute per customer.
	// Default: 10, 20 and 60.
	LoginRate, RegisterRate, OrderRate int
	// Limiter counts those limits: the process's, shared across instances
	// when APP_REDIS_URL is set. Default: one of its own, in memory.
	Limiter *ratelimit.Limiter
}

func (o *Options) setDefaults() {
	if o.CallTimeout <= 0 {
		o.CallTimeout = CallTimeout
	}
	if o.Recheck <= 0 {
		o.Recheck = 3 * time.Second
	}
	if o.MaxStream <= 0 {
		o.MaxStream = 5 * time.Minute
	}
	if o.LoginRate <= 0 {
		o.LoginRate = 10
	}
	if o.RegisterRate <= 0 {
		o.RegisterRate = 20
	}
	if o.OrderRate <= 0 {
		o.OrderRate = 60
	}
	if o.Limiter == nil {
		o.Limiter, _ = ratelimit.New(nil, ratelimit.Options{}) // without a registerer it cannot fail
	}
}

// Module mounts the BFF on the process's root router, with the process's
// module APIs (local or remote) and its event hub for the live streams.
var Module = fx.Module("bff",
	fx.Invoke(func(h *host.HTTP, apis APIs, tokens *auth.Verifier, hub *bus.Hub, rl *ratelimit.Limiter, cfg config.Config, log *zap.Logger) {
		h.Root.Mount(Prefix, Handler(apis, tokens, hub, Options{
			Stopping:     h.Stopping(),
			SecureCookie: !cfg.Dev(),
			LoginRate:    cfg.LoginRate,
			RegisterRate: cfg.RegisterRate,
			OrderRate:    cfg.OrderRate,
			Limiter:      rl,
		}, log.Named("bff")))
	}),
)

// Handler returns the BFF's routes, to be mounted at Prefix.
func Handler(apis APIs, tokens *auth.Verifier, events Events, o Options, log *zap.Logger) http.Handler {
	o.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	s := &server{apis: apis, sessions: sessions{tokens: tokens, secure: o.SecureCookie}, events: events, opts: o, log: log}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { httpx.WriteError(w, r, nil, httpx.ErrNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, nil, httpx.ErrMethodNotAllowed)
	})
	r.Use(noStore, sameOrigin)
	h := func(f httpx.HandlerFunc) http.HandlerFunc { return httpx.Handle(log, f) }

	r.Get("/home", h(s.home))
	r.Get("/products/{id}", h(s.product))
	r.Post("/cart", h(s.cart))
	// A stream holds a connection and a hub subscription: a page opens one
	// per screen (and again every MaxStream), far below this limit.
	limit := func(name string, perMinute int, key httpx.KeyFunc) func(http.Handler) http.Handler {
		return o.Limiter.Limit(ratelimit.Rule{Name: "bff." + name, Limit: perMinute, Window: time.Minute}, key)
	}
	r.With(limit("stock_stream", StreamRate, httpx.ByClientIP)).Get("/stock/live", h(s.stockLive))

	r.With(limit("register", o.RegisterRate, httpx.ByClientIP)).Post("/register", h(s.register))
	r.With(limit("login", o.LoginRate, httpx.ByClientIP)).Post("/login", h(s.login))
	r.Post("/logout", h(s.logout))
	r.Get("/session", h(s.session))

	me := r.With(s.sessions.require)
	me.With(limit("checkout", o.OrderRate, byCustomer)).Post("/checkout", h(s.checkout))
	me.Get("/orders", h(s.orders))
	me.Get("/orders/{id}", h(s.order))
	me.Get("/orders/{id}/live", h(s.orderLive))
	me.Get("/notifications", h(s.notifications))
	return r
}

// StreamRate is how many stock streams one client address may open a minute.
const StreamRate = 120

type server struct {
	apis     APIs
	sessions sessions
	events   Events
	opts     Options
	log      *zap.Logger
}

// noStore keeps the BFF's personal answers out of every cache.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
