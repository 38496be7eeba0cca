package bff_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/bff"
	"github.com/modmono/shop/platform/host"
)

// customer is a browser-like client of the BFF with its own cookie jar.
type customer struct {
	t    *testing.T
	base string
	http *http.Client
}

func newCustomer(t *testing.T, base string) *customer {
	jar, _ := cookiejar.New(nil)
	return &customer{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (c *customer) call(method, path, body string, header map[string]string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(bff.ClientHeader, bff.ClientValue)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode, out
}

// events reads the SSE stream at path until an "end" event or the stream
// closes, and returns the events' names and data.
func (c *customer) events(path string) (names []string, data []map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.base+path, nil)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		c.t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
			names, data = append(names, name), append(data, d)
			if name == "end" {
				return names, data
			}
		}
	}
	return names, data
}

func startShop(t *testing.T) string {
	t.Helper()
	var h *host.HTTP
	apptest.Start(t, map[string]string{"APP_SEED_DEMO": "true", "APP_PAYMENT_TIMEOUT": "1s"}, &h)
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Against the whole application: a customer registers, checks out twice
// with the same attempt (one order), follows the order live to its end, and
// finds it in the list and the messages; another customer cannot see it.
func TestCheckoutJourneyAgainstTheApp(t *testing.T) {
	base := startShop(t)
	ada := newCustomer(t, base)

	var products []any
	for deadline := time.Now().Add(time.Minute); len(products) < 8; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the demo products never appeared on the home screen")
		}
		_, home := ada.call("GET", "/bff/home", "", nil)
		products, _ = home["products"].([]any)
	}
	first := products[0].(map[string]any)
	id := first["id"].(string)
	if first["available"] == nil {
		t.Fatalf("home shows no stock with every module up: %v", first)
	}

	if status, s := ada.call("GET", "/bff/session", "", nil); status != 200 || s["user"] != nil {
		t.Fatalf("anonymous session: %d %v", status, s)
	}
	email := "ada-" + uuid.NewString()[:8] + "@example.com"
	status, s := ada.call("POST", "/bff/register", `{"name":"Ada","email":"`+email+`","password":"correct horse battery"}`, nil)
	if status != 201 || s["user"].(map[string]any)["email"] != email {
		t.Fatalf("register: %d %v", status, s)
	}
	if status, s := ada.call("GET", "/bff/session", "", nil); status != 200 || s["user"].(map[string]any)["name"] != "Ada" {
		t.Fatalf("session after register: %d %v", status, s)
	}
	if status, p := ada.call("POST", "/bff/register", `{"name":"Ada","email":"`+email+`","password":"correct horse battery"}`, nil); status != 409 || p["code"] != "identity.email_taken" {
		t.Errorf("second registration: %d %v", status, p)
	}

	body := `{"items":[{"product_id":"` + id + `","quantity":2}],"payment_token":"tok_ok"}`
	key := map[string]string{"Idempotency-Key": uuid.NewString()}
	status, placed := ada.call("POST", "/bff/checkout", body, key)
	if status != 202 || placed["status"] != "pending" {
		t.Fatalf("checkout: %d %v", status, placed)
	}
	orderID := placed["order_id"].(string)
	if status, again := ada.call("POST", "/bff/checkout", body, key); status != 202 || again["order_id"] != orderID {
		t.Errorf("the same attempt again: %d %v, want order %s", status, again, orderID)
	}

	names, data := ada.events("/bff/orders/" + orderID + "/live")
	if len(names) < 2 || names[0] != "order" || names[len(names)-1] != "end" || data[len(data)-1]["status"] != "confirmed" {
		t.Fatalf("live order stream: %v %v", names, data)
	}
	status, page := ada.call("GET", "/bff/orders/"+orderID, "", nil)
	if status != 200 || page["order"].(map[string]any)["status"] != "confirmed" || page["payment"].(map[string]any)["status"] != "captured" {
		t.Errorf("order page: %d %v", status, page)
	}

	// The list and the messages come from read models that follow events.
	eventually(t, func() bool {
		_, list := ada.call("GET", "/bff/orders", "", nil)
		orders, _ := list["orders"].([]any)
		return len(orders) == 1 && orders[0].(map[string]any)["status"] == "confirmed"
	}, "the order list shows the confirmed order")
	eventually(t, func() bool {
		_, notes := ada.call("GET", "/bff/notifications", "", nil)
		items, _ := notes["items"].([]any)
		for _, n := range items {
			if n.(map[string]any)["kind"] == "order_confirmed" {
				return true
			}
		}
		return false
	}, "a message says the order is confirmed")

	bob := newCustomer(t, base)
	bob.call("POST", "/bff/register", `{"name":"Bob","email":"bob-`+uuid.NewString()[:8]+`@example.com","password":"correct horse battery"}`, nil)
	if status, p := bob.call("GET", "/bff/orders/"+orderID, "", nil); status != 404 {
		t.Errorf("another customer's order: %d %v", status, p)
	}

	if status, _ := ada.call("POST", "/bff/logout", "", nil); status != 204 {
		t.Errorf("logout: %d", status)
	}
	if status, _ := ada.call("GET", "/bff/orders", "", nil); status != 401 {
		t.Errorf("orders after logout: %d", status)
	}
	if status, p := ada.call("POST", "/bff/login", `{"email":"`+email+`","password":"wrong password"}`, nil); status != 401 || p["code"] != "identity.invalid_credentials" {
		t.Errorf("login with a wrong password: %d %v", status, p)
	}
	if status, _ := ada.call("POST", "/bff/login", `{"email":"`+email+`","password":"correct horse battery"}`, nil); status != 200 {
		t.Errorf("login: %d", status)
	}
}

// A declined card, and a bank too slow to answer, end the live stream with
// the order cancelled and its reason.
func TestFailedPaymentsStreamTheirCancellation(t *testing.T) {
	base := startShop(t)
	c := newCustomer(t, base)
	var id string
	eventually(t, func() bool {
		_, home := c.call("GET", "/bff/home", "", nil)
		products, _ := home["products"].([]any)
		if len(products) == 0 {
			return false
		}
		id = products[0].(map[string]any)["id"].(string)
		return true
	}, "the demo products appear")
	c.call("POST", "/bff/register", `{"name":"Cy","email":"cy-`+uuid.NewString()[:8]+`@example.com","password":"correct horse battery"}`, nil)
	for _, token := range []string{"tok_decline", "tok_slow"} {
		status, placed := c.call("POST", "/bff/checkout", `{"items":[{"product_id":"`+id+`","quantity":1}],"payment_token":"`+token+`"}`,
			map[string]string{"Idempotency-Key": uuid.NewString()})
		if status != 202 {
			t.Fatalf("%s checkout: %d %v", token, status, placed)
		}
		names, data := c.events("/bff/orders/" + placed["order_id"].(string) + "/live")
		last := len(names) - 1
		if last < 1 || names[last] != "end" || data[last]["status"] != "cancelled" {
			t.Fatalf("%s stream %v %v", token, names, data)
		}
		order := data[last-1]["order"].(map[string]any)
		if order["status"] != "cancelled" || order["failure_reason"] == nil || order["failure_reason"] == "" {
			t.Errorf("%s: the last order event %v: want cancelled with a reason", token, order)
		}
	}
}

func eventually(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}
