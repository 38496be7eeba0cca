package e2e_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/auth"
)

// FuzzAPI sends arbitrary requests to a running cmd/app: whatever arrives,
// the answer is never a 5xx, every error is a problem document, and the
// process stays up.
func FuzzAPI(f *testing.F) {
	d := newDeployment(f, "gochannel")
	app := d.start(f, nil).as(d.token(f, auth.Admin))
	var tea product
	app.do("POST", "/api/v1/products", `{"name":"Tea","price":450,"currency":"EUR"}`).json(f, &tea)
	app.do("PUT", "/api/v1/inventory/"+tea.ID, `{"on_hand":1000}`)
	customer := app.newCustomer(f).client.bearer // the high bit of method picks the customer
	for _, seed := range []struct {
		method uint8
		path   string
		body   string
	}{
		{0, "products", ""},
		{0, "products/" + tea.ID, ""},
		{1, "products", `{"name":"a","price":1,"currency":"EUR"}`},
		{2, "products/" + tea.ID, `{"name":"b","price":2,"currency":"USD","description":"x"}`},
		{2, "inventory/" + tea.ID, `{"on_hand":3}`},
		{0, "inventory/" + tea.ID, ""},
		{0, "products?limit=2&cursor=AAAAAAAAAAAAAAAAAAAAAA", ""},
		{1, "products", `{"name":"\u0000","price":9223372036854775807,"currency":"EUR"}`},
		{3, "admin/dead-letters/" + tea.ID + "/replay", ""},
		{0x81, "orders", `{"items":[{"product_id":"` + tea.ID + `","quantity":1}],"payment":{"token":"tok_ok"}}`},
		{0x80, "orders?status=pending&limit=5", ""},
		{0x81, "orders/" + tea.ID + "/cancel", ""},
		{0x80, "notifications", ""},
	} {
		f.Add(seed.method, seed.path, []byte(seed.body))
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, method uint8, path string, body []byte) {
		u, err := url.Parse(app.base + "/api/v1/" + strings.TrimLeft(path, "/"))
		if err != nil || u.Host != strings.TrimPrefix(app.base, "http://") {
			t.Skip("not a request URL")
		}
		// Send a well-formed request line: malformed ones never reach the
		// application (net/http answers them itself).
		u.RawQuery = u.Query().Encode()
		u.RawPath, u.Fragment = "", ""
		req, err := http.NewRequest(methods[int(method&0x7f)%len(methods)], u.String(), bytes.NewReader(body))
		if err != nil {
			t.Skip("not a request")
		}
		req.Header.Set("Content-Type", "application/json")
		bearer := app.bearer
		if method&0x80 != 0 {
			bearer = customer
			req.Header.Set("Idempotency-Key", uuid.NewString())
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, u, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d", req.Method, u, body, resp.StatusCode)
		}
		if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s: %d without a problem document", req.Method, u, resp.StatusCode)
		}
	})
}
