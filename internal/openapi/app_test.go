package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/openapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
)

const (
	jwtSecret     = "openapi-test-secret-" + "0123456789abcdefghijklmnop"
	adminEmail    = "admin@example.com"
	adminPassword = "openapi-admin-password"
	loginRate     = 5 // logins a minute per client address: low, so the test reaches the 429
)

// shop is the whole application, built in process from its configuration
// as cmd/app builds it, without the listening server.
type shop struct {
	http *host.HTTP
	doc  *document
	key  authtest.Key
}

func startShop(t *testing.T) *shop {
	t.Helper()
	var h *host.HTTP
	key := authtest.NewKey(t)
	apptest.Start(t, map[string]string{
		"DATABASE_URL":         pgtest.NewDatabase(t),
		"APP_JWT_SECRET":       jwtSecret,
		"APP_JWT_PRIVATE_KEY":  key.PEM,
		"APP_ADMIN_EMAIL":      adminEmail,
		"APP_ADMIN_PASSWORD":   adminPassword,
		"APP_PAYMENT_TIMEOUT":  "2s",
		"APP_RATE_LIMIT_LOGIN": strconv.Itoa(loginRate),
	}, &h)
	return &shop{http: h, doc: loadDocument(t), key: key}
}

// TestDocumentMatchesApplication builds the application and holds the
// document to it: the same routes, the same authentication and roles, and
// answers that are what the document says they are.
func TestDocumentMatchesApplication(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application against Postgres")
	}
	s := startShop(t)
	// In order: the probes and the walk share the rate limit of the logins.
	t.Run("routes", s.testRoutes)
	t.Run("served", s.testServed)
	t.Run("security", s.testSecurity)
	t.Run("answers", s.testAnswers)
}

// documented reports whether a route is one the document must describe.
func documented(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/health/") || path == "/metrics" || strings.HasPrefix(path, "/.well-known/")
}

// testRoutes compares the routes the application registers with the
// operations of the document, both ways.
func (s *shop) testRoutes(t *testing.T) {
	registered := map[string]bool{}
	err := chi.Walk(s.http.Root, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// A mount leaves its own catch-all behind ("/api/v1/*"); the web UI is "/*".
		if strings.HasSuffix(route, "/*") || !documented(route) {
			return nil
		}
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		registered[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inDoc := map[string]bool{}
	for _, o := range s.doc.operations() {
		inDoc[o.String()] = true
	}
	var undocumented, unregistered []string
	for r := range registered {
		if !inDoc[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range inDoc {
		if !registered[r] {
			unregistered = append(unregistered, r)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unregistered)
	if len(undocumented) > 0 {
		t.Errorf("routes the application registers but openapi.json does not document:\n\t%s",
			strings.Join(undocumented, "\n\t"))
	}
	if len(unregistered) > 0 {
		t.Errorf("operations openapi.json documents but the application does not register:\n\t%s\n"+
			"(GET /api/openapi.json is mounted in internal/process/monolith.go with\n"+
			"\tfx.Invoke(func(h *host.HTTP) { h.Root.Method(\"GET\", \"/api/openapi.json\", openapi.Handler()) }))",
			strings.Join(unregistered, "\n\t"))
	}
}

// testServed requires GET /api/openapi.json to serve this very document.
func (s *shop) testServed(t *testing.T) {
	a := s.do(t, call{method: "GET", path: "/api/openapi.json"})
	if a.status != http.StatusOK || !bytes.Equal(a.body, openapi.Document()) {
		t.Errorf("GET /api/openapi.json answered %d with %d bytes; want 200 with the embedded document", a.status, len(a.body))
	}
}

// testSecurity calls every operation without a token, with a bad one and
// with a token of each role, and requires the answers to agree with its
// security and x-roles. The calls change nothing: path IDs are random and
// no body is sent.
func (s *shop) testSecurity(t *testing.T) {
	for _, o := range s.doc.operations() {
		args := make([]string, len(pathParam.FindAllString(o.path, -1)))
		for i := range args {
			args[i] = uuid.NewString()
		}
		c := call{method: o.method, path: o.path, args: args}

		a := s.do(t, c)
		switch {
		case o.public() && a.status == http.StatusUnauthorized:
			t.Errorf("%s is public in the document but answered 401 without a token", o)
		case !o.public() && (a.status != http.StatusUnauthorized || a.code() != auth.ErrUnauthenticated.Code):
			t.Errorf("%s needs a token in the document but answered %d %s without one", o, a.status, a.code())
		}
		if !strings.HasPrefix(o.path, "/api/v1/") {
			continue
		}
		if o.public() {
			continue // a bad token is ignored where none is needed
		}
		bad := c
		bad.token = "not-a-token"
		if a := s.do(t, bad); a.status != http.StatusUnauthorized || a.code() != auth.ErrInvalidToken.Code {
			t.Errorf("%s answered %d %s to a bad token, want 401 %s", o, a.status, a.code(), auth.ErrInvalidToken.Code)
		}
		for _, role := range []auth.Role{auth.Admin, auth.Customer} {
			c.token = s.mint(t, role)
			a := s.do(t, c)
			allowed := slices.Contains(o.roles(), string(role))
			switch {
			case !allowed && (a.status != http.StatusForbidden || a.code() != auth.ErrForbidden.Code):
				t.Errorf("%s: x-roles %v leaves %s out, but it was answered %d %s", o, o.roles(), role, a.status, a.code())
			case allowed && (a.status == http.StatusUnauthorized || (a.status == http.StatusForbidden && a.code() == auth.ErrForbidden.Code)):
				t.Errorf("%s: x-roles %v admits %s, but it was answered %d %s", o, o.roles(), role, a.status, a.code())
			}
		}
	}
}

// testAnswers walks through the API as a client would, and checks every
// answer against the document (s.do does): registering and logging in,
// managing products and stock, placing, reading and cancelling an order,
// its payment, notifications, dead letters and the operational routes, with
// some of the errors on the way.
func (s *shop) testAnswers(t *testing.T) {
	admin := s.login(t, adminEmail, adminPassword)

	s.expect(t, call{method: "POST", path: "/api/v1/auth/register",
		body: `{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}`}, 201)
	s.expect(t, call{method: "POST", path: "/api/v1/auth/register",
		body: `{"email":"ADA@example.com","password":"correct horse battery","name":"Ada"}`}, 409)
	s.expect(t, call{method: "POST", path: "/api/v1/auth/register", body: `{"email":"x","password":"x","name":""}`}, 400)
	s.expect(t, call{method: "POST", path: "/api/v1/auth/register", body: `{"email":"a@b.c","extra":1}`}, 400)
	ada := s.login(t, "ada@example.com", "correct horse battery")
	s.expect(t, call{method: "POST", path: "/api/v1/auth/login", body: `{"email":"","password":""}`}, 400)

	var product struct{ ID string }
	a := s.expect(t, call{method: "POST", path: "/api/v1/products", token: admin,
		body: `{"name":"Pen","description":"Blue ink","price":150,"currency":"EUR"}`}, 201)
	a.decode(t, &product)
	id := product.ID
	s.expect(t, call{method: "POST", path: "/api/v1/products", token: admin, body: `{"name":" ","price":0,"currency":"eur"}`}, 400)
	s.expect(t, call{method: "POST", path: "/api/v1/products", token: admin,
		body: `{"name":"` + strings.Repeat("a", 2<<20) + `"}`}, 413)
	s.expect(t, call{method: "POST", path: "/api/v1/products", token: admin, body: `{}`, contentType: "text/plain"}, 415)
	s.expect(t, call{method: "PUT", path: "/api/v1/products/{id}", args: []string{id}, token: admin,
		body: `{"name":"Pen","price":200,"currency":"EUR"}`}, 200)
	s.expect(t, call{method: "PUT", path: "/api/v1/products/{id}", args: []string{uuid.NewString()}, token: admin,
		body: `{"name":"Pen","price":200,"currency":"EUR"}`}, 404)
	s.expect(t, call{method: "GET", path: "/api/v1/products"}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/products", query: "limit=1"}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/products", query: "limit=0"}, 400)
	s.expect(t, call{method: "GET", path: "/api/v1/products/{id}", args: []string{id}}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/products/{id}", args: []string{"not-a-uuid"}}, 400)
	s.expect(t, call{method: "GET", path: "/api/v1/products/{id}", args: []string{uuid.NewString()}}, 404)

	s.expect(t, call{method: "GET", path: "/api/v1/inventory/{product_id}", args: []string{id}}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/inventory/{product_id}", args: []string{uuid.NewString()}}, 404)
	s.expect(t, call{method: "PUT", path: "/api/v1/inventory/{product_id}", args: []string{id}, token: admin, body: `{"on_hand":5}`}, 200)
	s.expect(t, call{method: "PUT", path: "/api/v1/inventory/{product_id}", args: []string{id}, token: admin, body: `{"on_hand":-1}`}, 400)
	s.expect(t, call{method: "GET", path: "/api/v1/products/{id}/details", args: []string{id}}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/products/{id}/details", args: []string{uuid.NewString()}}, 404)

	order := `{"items":[{"product_id":"` + id + `","quantity":1}],"payment":{"token":"tok_ok"}}`
	key := map[string]string{"Idempotency-Key": "order-1"}
	var placed struct{ ID string }
	a = s.expect(t, call{method: "POST", path: "/api/v1/orders", token: ada, header: key, body: order}, 202)
	a.decode(t, &placed)
	s.expect(t, call{method: "POST", path: "/api/v1/orders", token: ada, header: key, body: order}, 202)
	s.expect(t, call{method: "POST", path: "/api/v1/orders", token: ada, header: key,
		body: strings.Replace(order, `"quantity":1`, `"quantity":2`, 1)}, 422)
	s.expect(t, call{method: "POST", path: "/api/v1/orders", token: ada, body: order}, 400)
	s.expect(t, call{method: "POST", path: "/api/v1/orders", token: ada, header: map[string]string{"Idempotency-Key": "order-2"},
		body: strings.Replace(order, id, uuid.NewString(), 1)}, 422)
	s.expect(t, call{method: "POST", path: "/api/v1/orders", token: ada, header: map[string]string{"Idempotency-Key": "order-3"},
		body: `{"items":[],"payment":{"token":""}}`}, 400)
	s.expect(t, call{method: "GET", path: "/api/v1/orders/{id}", args: []string{placed.ID}, token: s.mint(t, auth.Customer)}, 403)

	// The checkout runs in the background: wait for it to end.
	status := "pending"
	for deadline := time.Now().Add(20 * time.Second); status == "pending" && time.Now().Before(deadline); {
		var o struct{ Status string }
		s.expect(t, call{method: "GET", path: "/api/v1/orders/{id}", args: []string{placed.ID}, token: ada}, 200).decode(t, &o)
		if status = o.Status; status == "pending" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if status != "confirmed" {
		t.Logf("the order ended %s, not confirmed: the payment and cancellation answers are checked as they come", status)
	}
	s.expect(t, call{method: "GET", path: "/api/v1/orders", token: ada}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/orders", token: ada, query: "status=confirmed&limit=10"}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/orders", token: ada, query: "status=lost"}, 400)
	s.do(t, call{method: "GET", path: "/api/v1/payments", token: ada, query: "order_id=" + placed.ID})
	s.do(t, call{method: "GET", path: "/api/v1/payments", token: admin, query: "order_id=" + placed.ID})
	s.expect(t, call{method: "GET", path: "/api/v1/payments", token: ada, query: "order_id=" + uuid.NewString()}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/payments", token: ada}, 400)
	s.do(t, call{method: "POST", path: "/api/v1/orders/{id}/cancel", args: []string{placed.ID}, token: ada})
	s.do(t, call{method: "POST", path: "/api/v1/orders/{id}/cancel", args: []string{placed.ID}, token: admin})
	s.do(t, call{method: "GET", path: "/api/v1/payments", token: ada, query: "order_id=" + placed.ID})
	s.expect(t, call{method: "GET", path: "/api/v1/notifications", token: ada}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/notifications", token: ada, query: "cursor=%21"}, 400)

	s.expect(t, call{method: "GET", path: "/api/v1/admin/sagas/{order_id}", args: []string{placed.ID}, token: admin}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/sagas/{order_id}", args: []string{uuid.NewString()}, token: admin}, 404)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/sagas/{order_id}", args: []string{"not-an-id"}, token: admin}, 400)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/architecture", token: admin}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/outbox", token: admin}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/events", token: admin, query: "type=ordering.&correlation_id=x"}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/events", token: admin, query: "type=" + strings.Repeat("x", 201)}, 400)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/dead-letters", token: admin}, 200)
	s.expect(t, call{method: "GET", path: "/api/v1/admin/dead-letters", token: admin, query: "limit=5000"}, 400)
	s.expect(t, call{method: "POST", path: "/api/v1/admin/dead-letters/{id}/replay", args: []string{uuid.NewString()}, token: admin}, 404)

	s.expect(t, call{method: "GET", path: "/health/live"}, 200)
	s.do(t, call{method: "GET", path: "/health/ready"})
	s.expect(t, call{method: "GET", path: "/metrics"}, 200)
	s.expect(t, call{method: "GET", path: "/.well-known/jwks.json"}, 200)

	// The login budget is loginRate a minute per address; this test has used
	// some of it. Spend the rest on cheap failures until it runs out.
	for i := 0; ; i++ {
		a := s.do(t, call{method: "POST", path: "/api/v1/auth/login", body: `{"email":"nobody","password":"x"}`})
		if a.status == http.StatusTooManyRequests {
			break
		}
		if i > 2*loginRate {
			t.Errorf("POST /api/v1/auth/login was not rate limited after %d calls", i+1)
			break
		}
	}
}

// call is one request, addressed by the document's path template.
type call struct {
	method, path string
	args         []string // the template's parameters, in order
	query        string
	token        string
	header       map[string]string
	body         string // sent as application/json unless contentType says otherwise
	contentType  string
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) code() string {
	var p struct{ Code string }
	_ = json.Unmarshal(a.body, &p)
	return p.Code
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", shorten(a.body), err)
	}
}

// do sends c to the application and checks the answer against the
// document's operation for c.
func (s *shop) do(t *testing.T, c call) answer {
	t.Helper()
	o, ok := s.doc.operation(c.method, c.path)
	if !ok {
		t.Fatalf("the document has no operation %s %s", c.method, c.path)
	}
	target, i := c.path, 0
	target = pathParam.ReplaceAllStringFunc(target, func(string) string {
		if i >= len(c.args) {
			t.Fatalf("%s %s: too few path arguments", c.method, c.path)
		}
		i++
		return c.args[i-1]
	})
	if c.query != "" {
		target += "?" + c.query
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(c.method, target, body)
	if c.body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if mapAt(s.doc.response(o, http.StatusOK), "content", "text/event-stream") != nil {
		// An event stream lasts until the client leaves: leave soon.
		ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
		defer cancel()
		r = r.WithContext(ctx)
	}
	rec := httptest.NewRecorder()
	s.http.Root.ServeHTTP(rec, r)
	a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	for _, e := range s.doc.conform(o, a.status, a.header, a.body) {
		t.Errorf("%s %s: %s", c.method, target, e)
	}
	if a.status < 300 && c.body != "" {
		// A body the application accepted must be one the document allows.
		schema := mapAt(s.doc.resolve(o.op["requestBody"]), "content", "application/json", "schema")
		var v any
		dec := json.NewDecoder(strings.NewReader(c.body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		for _, e := range s.doc.validate(schema, v, "request body") {
			t.Errorf("%s %s: accepted, but %s", c.method, target, e)
		}
	}
	return a
}

// expect is do, requiring status.
func (s *shop) expect(t *testing.T, c call, status int) answer {
	t.Helper()
	a := s.do(t, c)
	if a.status != status {
		t.Errorf("%s %s: answered %d, want %d (body %s)", c.method, c.path, a.status, status, shorten(a.body))
	}
	return a
}

func (s *shop) login(t *testing.T, email, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	s.expect(t, call{method: "POST", path: "/api/v1/auth/login", body: string(body)}, 200).decode(t, &tok)
	return tok.AccessToken
}

// mint issues a token for a new caller of role, as identity would.
func (s *shop) mint(t *testing.T, role auth.Role) string {
	t.Helper()
	return s.key.Token(t, role)
}
