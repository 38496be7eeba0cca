package bff_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/bff"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/page"
)

// Stubs: each embeds its interface, so a method a test does not give
// panics, which the BFF turns into that call's failure.

var errDown = errors.New("connection refused")

type catalogStub struct {
	catalogapi.API
	products []catalogapi.Product
	down     bool
}

func (c catalogStub) ListProducts(context.Context, page.Request) (page.Page[catalogapi.Product], error) {
	if c.down {
		return page.Page[catalogapi.Product]{}, errDown
	}
	return page.Page[catalogapi.Product]{Items: c.products}, nil
}

func (c catalogStub) GetProduct(_ context.Context, id uuid.UUID) (catalogapi.Product, error) {
	if c.down {
		return catalogapi.Product{}, errDown
	}
	for _, p := range c.products {
		if p.ID == id {
			return p, nil
		}
	}
	return catalogapi.Product{}, catalogapi.ErrProductNotFound
}

type inventoryStub struct {
	inventoryapi.API
	available int64
	down      bool
	slow      time.Duration
}

func (s inventoryStub) GetStock(ctx context.Context, _ uuid.UUID) (inventoryapi.Stock, error) {
	if s.slow > 0 {
		time.Sleep(s.slow) // ignores its context on purpose: the BFF must not wait for it
	}
	if s.down {
		return inventoryapi.Stock{}, errDown
	}
	return inventoryapi.Stock{OnHand: s.available, Available: s.available}, nil
}

type orderingStub struct {
	orderingapi.API
	order orderingapi.Order
}

func (o orderingStub) GetOrder(_ context.Context, id uuid.UUID) (orderingapi.Order, error) {
	if id != o.order.ID {
		return orderingapi.Order{}, orderingapi.ErrOrderNotFound
	}
	return o.order, nil
}

type paymentsStub struct{ paymentsapi.API }

func (paymentsStub) ForOrder(context.Context, uuid.UUID) (page.Page[paymentsapi.Payment], error) {
	return page.Page[paymentsapi.Payment]{}, errDown
}

type identityStub struct{ identityapi.API }

// noEvents is an event system that is down: streams re-check only.
type noEvents struct{}

func (noEvents) Subscribe(context.Context, bus.Filter) (*bus.Watcher, error) {
	return nil, errors.New("broker down")
}

var (
	tea   = catalogapi.Product{ID: uuid.New(), Name: "Sencha", Price: 850, Currency: "EUR"}
	mug   = catalogapi.Product{ID: uuid.New(), Name: "Mug", Price: 1450, Currency: "EUR"}
	alice = auth.Principal{UserID: uuid.New(), Role: auth.Customer}
)

func tokens(t testing.TB) authtest.Key {
	t.Helper()
	return authtest.NewKey(t)
}

func handler(t testing.TB, apis bff.APIs, o bff.Options) (http.Handler, authtest.Key) {
	t.Helper()
	if apis.Catalog == nil {
		apis.Catalog = catalogStub{products: []catalogapi.Product{tea, mug}}
	}
	if apis.Inventory == nil {
		apis.Inventory = inventoryStub{available: 7}
	}
	if apis.Ordering == nil {
		apis.Ordering = orderingStub{}
	}
	if apis.Identity == nil {
		apis.Identity = identityStub{}
	}
	if apis.Payments == nil {
		apis.Payments = paymentsStub{}
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 200 * time.Millisecond
	}
	tk := tokens(t)
	return http.StripPrefix(bff.Prefix, bff.Handler(apis, tk.Verifier(), noEvents{}, o, nil)), tk
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, h http.Handler, req *http.Request) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header()}
	if strings.Contains(rec.Header().Get("Content-Type"), "json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", req.Method, req.URL, rec.Body.String(), err)
		}
	}
	return a
}

func get(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }

func post(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(bff.ClientHeader, bff.ClientValue)
	return r
}

func signedIn(t *testing.T, tk authtest.Key, r *http.Request, p auth.Principal) *http.Request {
	t.Helper()
	r.AddCookie(&http.Cookie{Name: bff.CookieName, Value: tk.TokenFor(t, p)})
	return r
}

func TestHomeDegradesWithoutInventory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		inventory inventoryapi.API
		degraded  bool
	}{
		{"inventory up", inventoryStub{available: 7}, false},
		{"inventory down", inventoryStub{down: true}, true},
		{"inventory too slow", inventoryStub{available: 7, slow: time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := handler(t, bff.APIs{Inventory: tc.inventory}, bff.Options{})
			start := time.Now()
			a := do(t, h, get("/bff/home"))
			if elapsed := time.Since(start); elapsed > 800*time.Millisecond {
				t.Errorf("home took %v: a slow module must not hold the screen past the call timeout", elapsed)
			}
			if a.status != 200 {
				t.Fatalf("status %d %v", a.status, a.body)
			}
			products := a.body["products"].([]any)
			if len(products) != 2 {
				t.Fatalf("products %v", products)
			}
			first := products[0].(map[string]any)
			degraded := a.body["degraded"].([]any)
			if tc.degraded {
				if first["available"] != nil || len(degraded) != 1 || degraded[0] != "inventory" {
					t.Errorf("without inventory: available %v, degraded %v", first["available"], degraded)
				}
			} else if first["available"] != 7.0 || len(degraded) != 0 {
				t.Errorf("with inventory: available %v, degraded %v", first["available"], degraded)
			}
		})
	}
}

func TestScreensWithoutTheirCoreModuleAre503(t *testing.T) {
	t.Parallel()
	h, _ := handler(t, bff.APIs{Catalog: catalogStub{down: true}}, bff.Options{})
	for _, path := range []string{"/bff/home", "/bff/products/" + tea.ID.String()} {
		a := do(t, h, get(path))
		if a.status != 503 || a.body["code"] != "bff.unavailable" {
			t.Errorf("GET %s: %d %v", path, a.status, a.body)
		}
	}
}

func TestProductPage(t *testing.T) {
	t.Parallel()
	h, _ := handler(t, bff.APIs{Inventory: inventoryStub{down: true}}, bff.Options{})
	a := do(t, h, get("/bff/products/"+tea.ID.String()))
	if a.status != 200 || a.body["product"].(map[string]any)["name"] != "Sencha" || a.body["degraded"].([]any)[0] != "inventory" {
		t.Errorf("product without inventory: %d %v", a.status, a.body)
	}
	if a := do(t, h, get("/bff/products/"+uuid.NewString())); a.status != 404 || a.body["code"] != "catalog.product_not_found" {
		t.Errorf("unknown product: %d %v", a.status, a.body)
	}
	if a := do(t, h, get("/bff/products/nope")); a.status != 400 || a.body["code"] != "http.invalid_id" {
		t.Errorf("bad id: %d %v", a.status, a.body)
	}
}

func TestCartIsPricedAndSaysWhatIsUnavailable(t *testing.T) {
	t.Parallel()
	h, _ := handler(t, bff.APIs{Inventory: inventoryStub{available: 3}}, bff.Options{})
	gone := uuid.NewString()
	a := do(t, h, post("/bff/cart", `{"items":[
		{"product_id":"`+tea.ID.String()+`","quantity":2},
		{"product_id":"`+mug.ID.String()+`","quantity":5},
		{"product_id":"`+gone+`","quantity":1},
		{"product_id":"`+tea.ID.String()+`","quantity":1}]}`))
	if a.status != 200 {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	lines := a.body["lines"].([]any)
	if len(lines) != 3 {
		t.Fatalf("lines %v: repeated products must merge", lines)
	}
	want := []struct {
		qty     float64
		problem string
	}{{3, ""}, {5, bff.LineInsufficientStock}, {1, bff.LineUnknownProduct}}
	for i, w := range want {
		l := lines[i].(map[string]any)
		if l["quantity"] != w.qty || l["problem"] != w.problem {
			t.Errorf("line %d: %v, want quantity %v problem %q", i, l, w.qty, w.problem)
		}
	}
	if a.body["total"] != 2550.0 || a.body["can_checkout"] != false || a.body["currency"] != "EUR" {
		t.Errorf("total %v can_checkout %v currency %v", a.body["total"], a.body["can_checkout"], a.body["currency"])
	}
	for name, body := range map[string]string{
		"empty":         `{"items":[]}`,
		"zero quantity": `{"items":[{"product_id":"` + tea.ID.String() + `","quantity":0}]}`,
		"too many":      `{"items":[{"product_id":"` + tea.ID.String() + `","quantity":100}]}`,
		"no product":    `{"items":[{"quantity":1}]}`,
	} {
		if a := do(t, h, post("/bff/cart", body)); a.status != 400 || a.body["code"] != "bff.invalid_cart" {
			t.Errorf("%s cart: %d %v", name, a.status, a.body)
		}
	}
	if a := do(t, h, post("/bff/cart", `{"items":[],"extra":1}`)); a.status != 400 || a.body["code"] != "http.unknown_field" {
		t.Errorf("unknown field: %d %v", a.status, a.body)
	}
}

func TestStateChangingRoutesRefuseCrossSiteRequests(t *testing.T) {
	t.Parallel()
	h, _ := handler(t, bff.APIs{}, bff.Options{})
	body := `{"items":[{"product_id":"` + tea.ID.String() + `","quantity":1}]}`
	for name, tc := range map[string]struct {
		edit   func(*http.Request)
		status int
	}{
		"from the storefront": {func(*http.Request) {}, 200},
		"same-origin fetch":   {func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin") }, 200},
		"no client header":    {func(r *http.Request) { r.Header.Del(bff.ClientHeader) }, 403},
		"cross-site fetch":    {func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403},
		"foreign origin":      {func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403},
	} {
		r := post("/bff/cart", body)
		tc.edit(r)
		a := do(t, h, r)
		if a.status != tc.status || (tc.status == 403 && a.body["code"] != "bff.cross_site_request") {
			t.Errorf("%s: %d %v", name, a.status, a.body)
		}
	}
}

func TestPersonalScreensNeedASession(t *testing.T) {
	t.Parallel()
	h, tk := handler(t, bff.APIs{}, bff.Options{})
	for _, path := range []string{"/bff/orders", "/bff/notifications", "/bff/orders/" + uuid.NewString(), "/bff/orders/" + uuid.NewString() + "/live"} {
		if a := do(t, h, get(path)); a.status != 401 || a.body["code"] != "auth.unauthenticated" {
			t.Errorf("GET %s without a session: %d %v", path, a.status, a.body)
		}
	}
	r := get("/bff/orders")
	r.AddCookie(&http.Cookie{Name: bff.CookieName, Value: "forged"})
	a := do(t, h, r)
	if a.status != 401 || !strings.Contains(a.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("a forged session: %d, Set-Cookie %q; want 401 and the cookie cleared", a.status, a.header.Get("Set-Cookie"))
	}
	if a := do(t, h, signedIn(t, tk, post("/bff/checkout", `{"items":[{"product_id":"`+tea.ID.String()+`","quantity":1}],"payment_token":"tok_ok"}`), alice)); a.status != 400 || a.body["code"] != "ordering.idempotency_key_missing" {
		t.Errorf("checkout without Idempotency-Key: %d %v", a.status, a.body)
	}
	r = signedIn(t, tk, post("/bff/checkout", `{"items":[{"product_id":"`+tea.ID.String()+`","quantity":1}],"payment_token":"tok_free"}`), alice)
	r.Header.Set("Idempotency-Key", "k1")
	if a := do(t, h, r); a.status != 400 || a.body["code"] != "bff.invalid_payment_token" {
		t.Errorf("checkout with an unknown token: %d %v", a.status, a.body)
	}
}

// The order page shows the order without its payment when payments is
// down, and someone else's order is not found.
func TestOrderPage(t *testing.T) {
	t.Parallel()
	o := orderingapi.Order{ID: uuid.New(), CustomerID: alice.UserID, Status: "pending", Total: 850, Currency: "EUR"}
	h, tk := handler(t, bff.APIs{Ordering: orderingStub{order: o}}, bff.Options{})
	a := do(t, h, signedIn(t, tk, get("/bff/orders/"+o.ID.String()), alice))
	if a.status != 200 || a.body["payment"] != nil || a.body["degraded"].([]any)[0] != "payments" {
		t.Errorf("order without payments: %d %v", a.status, a.body)
	}
	bob := auth.Principal{UserID: uuid.New(), Role: auth.Customer}
	if a := do(t, h, signedIn(t, tk, get("/bff/orders/"+o.ID.String()), bob)); a.status != 404 || a.body["code"] != "ordering.order_not_found" {
		t.Errorf("someone else's order: %d %v", a.status, a.body)
	}
}

func TestSessionCookieIsHttpOnlyStrictAndSecureOutsideDev(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		h, _ := handler(t, bff.APIs{}, bff.Options{SecureCookie: secure})
		a := do(t, h, post("/bff/logout", ""))
		c := a.header.Get("Set-Cookie")
		if a.status != 204 || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") ||
			!strings.Contains(c, "Path=/bff") || strings.Contains(c, "Secure") != secure {
			t.Errorf("secure=%v: %d Set-Cookie %q", secure, a.status, c)
		}
	}
}
