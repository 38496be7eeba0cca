package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// badInput: hostile and careless requests get a 4xx problem with a stable code and
// change nothing.
// app calls as an admin.
func badInput(t *testing.T, app *process) {
	var tea product
	app.do("POST", "/api/v1/products", `{"name":"Tea","price":450,"currency":"EUR"}`).json(t, &tea)
	app.do("PUT", "/api/v1/inventory/"+tea.ID, `{"on_hand":7}`)
	before := snapshot(t, app, tea.ID)

	products, one := "/api/v1/products", "/api/v1/products/"+tea.ID
	stockPath := "/api/v1/inventory/" + tea.ID
	huge := `{"name":"` + strings.Repeat("x", 2<<20) + `","price":1,"currency":"EUR"}`
	for _, tc := range []struct {
		name, method, path, body, contentType string
		status                                int
		code                                  string
	}{
		{"malformed json", "POST", products, `{"name":`, "", 400, "http.malformed_json"},
		{"not json at all", "POST", products, `hello`, "", 400, "http.malformed_json"},
		{"empty body", "POST", products, ``, "", 400, "http.empty_body"},
		{"json null", "POST", products, `null`, "", 400, ""},
		{"json array", "POST", products, `[]`, "", 400, "http.invalid_json"},
		{"trailing data", "POST", products, `{"name":"a","price":1,"currency":"EUR"}{}`, "", 400, "http.trailing_data"},
		{"unknown field", "POST", products, `{"name":"a","price":1,"currency":"EUR","admin":true}`, "", 400, "http.unknown_field"},
		{"wrong type name", "POST", products, `{"name":7,"price":1,"currency":"EUR"}`, "", 400, "http.invalid_json"},
		{"price as string", "POST", products, `{"name":"a","price":"1","currency":"EUR"}`, "", 400, "http.invalid_json"},
		{"fractional price", "POST", products, `{"name":"a","price":4.5,"currency":"EUR"}`, "", 400, "http.invalid_json"},
		{"price overflow", "POST", products, `{"name":"a","price":99999999999999999999,"currency":"EUR"}`, "", 400, "http.invalid_json"},
		{"zero price", "POST", products, `{"name":"a","price":0,"currency":"EUR"}`, "", 400, "catalog.invalid_product"},
		{"negative price", "POST", products, `{"name":"a","price":-5,"currency":"EUR"}`, "", 400, "catalog.invalid_product"},
		{"huge price", "POST", products, `{"name":"a","price":10000000000000,"currency":"EUR"}`, "", 400, "catalog.invalid_product"},
		{"missing fields", "POST", products, `{}`, "", 400, "catalog.invalid_product"},
		{"lower-case currency", "POST", products, `{"name":"a","price":1,"currency":"eur"}`, "", 400, "catalog.invalid_product"},
		{"long name", "POST", products, `{"name":"` + strings.Repeat("n", 201) + `","price":1,"currency":"EUR"}`, "", 400, "catalog.invalid_product"},
		{"blank name", "POST", products, `{"name":"  ","price":1,"currency":"EUR"}`, "", 400, "catalog.invalid_product"},
		{"invalid utf-8", "POST", products, "{\"name\":\"\xff\xfe\",\"price\":1,\"currency\":\"EUR\"}", "", 400, "http.malformed_json"},
		{"body over 1 MiB", "POST", products, huge, "", 413, "http.body_too_large"},
		{"wrong content type", "POST", products, `{"name":"a","price":1,"currency":"EUR"}`, "text/plain", 415, "http.unsupported_media_type"},
		{"replace with bad id", "PUT", "/api/v1/products/not-a-uuid", `{"name":"a","price":1,"currency":"EUR"}`, "", 400, "http.invalid_id"},
		{"replace with invalid fields", "PUT", one, `{"name":"","price":1,"currency":"EUR"}`, "", 400, "catalog.invalid_product"},
		{"replace partially", "PUT", one, `{"price":1}`, "", 400, "catalog.invalid_product"},
		{"sql in id", "GET", "/api/v1/products/1%27%20OR%201=1--", "", "", 400, "http.invalid_id"},
		{"limit zero", "GET", products + "?limit=0", "", "", 400, "http.invalid_page"},
		{"limit huge", "GET", products + "?limit=100000", "", "", 400, "http.invalid_page"},
		{"limit not a number", "GET", products + "?limit=ten", "", "", 400, "http.invalid_page"},
		{"forged cursor", "GET", products + "?cursor=AAAA", "", "", 400, "http.invalid_page"},
		{"negative stock", "PUT", stockPath, `{"on_hand":-1}`, "", 400, "inventory.invalid_stock"},
		{"stock too large", "PUT", stockPath, `{"on_hand":1000000001}`, "", 400, "inventory.invalid_stock"},
		{"stock as string", "PUT", stockPath, `{"on_hand":"7"}`, "", 400, "http.invalid_json"},
		{"fractional stock", "PUT", stockPath, `{"on_hand":1.5}`, "", 400, "http.invalid_json"},
		{"stock unknown field", "PUT", stockPath, `{"on_hand":1,"reserved":0}`, "", 400, "http.unknown_field"},
		{"stock bad id", "PUT", "/api/v1/inventory/123", `{"on_hand":1}`, "", 400, "http.invalid_id"},
		{"method not allowed", "DELETE", one, "", "", 405, "http.method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" || tc.method == "POST" {
				body = tc.body
			}
			headers := []string{}
			if tc.contentType != "" {
				headers = append(headers, "Content-Type", tc.contentType)
			}
			r := app.do(tc.method, tc.path, body, headers...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p struct {
				Type, Title, Code string
				Status            int
			}
			if err := json.Unmarshal(r.body, &p); err != nil || p.Type == "" || p.Title == "" || p.Code == "" || p.Status != tc.status {
				t.Fatalf("not a problem: %s (%v)", r.body, err)
			}
			if tc.code != "" && p.Code != tc.code {
				t.Fatalf("code %q, want %q", p.Code, tc.code)
			}
			if bytes.Contains(r.body, []byte("pgx")) || bytes.Contains(r.body, []byte("SQLSTATE")) || bytes.Contains(r.body, []byte("goroutine")) {
				t.Fatalf("internals leaked: %s", r.body)
			}
		})
	}
	if after := snapshot(t, app, tea.ID); after != before {
		t.Fatalf("bad input changed the data:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot returns every product and the tea's stock as one string.
func snapshot(t *testing.T, app *process, id string) string {
	t.Helper()
	list := app.do("GET", "/api/v1/products?limit=200", nil)
	s := app.do("GET", "/api/v1/inventory/"+id, nil)
	if list.status != http.StatusOK || s.status != http.StatusOK {
		t.Fatalf("snapshot: %d %d", list.status, s.status)
	}
	return string(list.body) + string(s.body)
}

// badOrders sends hostile order requests: 4xx problems, no order, no stock held.
func badOrders(t *testing.T, app *process) {
	tea := stocked(t, app.admin(t), 450, 7)
	c := app.newCustomer(t).client
	item := func(id, qty string) string {
		return `{"items":[{"product_id":"` + id + `","quantity":` + qty + `}],"payment":{"token":"tok_ok"}}`
	}
	for _, tc := range []struct {
		name, body, contentType, key string
		status                       int
		code                         string
	}{
		{"zero quantity", item(tea.ID, "0"), "", "k1", 400, "ordering.invalid_order"},
		{"negative quantity", item(tea.ID, "-3"), "", "k2", 400, "ordering.invalid_order"},
		{"huge quantity", item(tea.ID, "1001"), "", "k3", 400, "ordering.invalid_order"},
		{"overflowing quantity", item(tea.ID, "99999999999999999999"), "", "k4", 400, "http.invalid_json"},
		{"fractional quantity", item(tea.ID, "1.5"), "", "k5", 400, "http.invalid_json"},
		{"quantity as string", item(tea.ID, `"1"`), "", "k6", 400, "http.invalid_json"},
		{"malformed product id", item("not-a-uuid", "1"), "", "k7", 400, "http.invalid_json"},
		{"unknown product", item("01900000-0000-7000-8000-000000000000", "1"), "", "k8", 422, "ordering.unknown_product"},
		{"no items", `{"items":[],"payment":{"token":"tok_ok"}}`, "", "k9", 400, "ordering.invalid_order"},
		{"no payment", `{"items":[{"product_id":"` + tea.ID + `","quantity":1}]}`, "", "k10", 400, "ordering.invalid_order"},
		{"same product twice", `{"items":[{"product_id":"` + tea.ID + `","quantity":1},{"product_id":"` + tea.ID + `","quantity":1}],"payment":{"token":"tok_ok"}}`, "", "k11", 400, "ordering.invalid_order"},
		{"unknown field", `{"items":[],"payment":{"token":"tok_ok"},"discount":100}`, "", "k12", 400, "http.unknown_field"},
		{"wrong content type", item(tea.ID, "1"), "text/plain", "k13", 415, "http.unsupported_media_type"},
		{"malformed json", `{"items":[`, "", "k14", 400, "http.malformed_json"},
		{"no idempotency key", item(tea.ID, "1"), "", "", 400, "ordering.idempotency_key_missing"},
		{"non-ASCII key", item(tea.ID, "1"), "", "clé", 400, "ordering.invalid_idempotency_key"},
		{"overlong key", item(tea.ID, "1"), "", strings.Repeat("k", 256), 400, "ordering.invalid_idempotency_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{}
			if tc.key != "" {
				headers = append(headers, "Idempotency-Key", tc.key)
			}
			if tc.contentType != "" {
				headers = append(headers, "Content-Type", tc.contentType)
			}
			r := c.do("POST", "/api/v1/orders", tc.body, headers...)
			if r.status != tc.status || !strings.Contains(string(r.body), `"code":"`+tc.code+`"`) ||
				r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	for _, tc := range []struct{ method, path, code string }{
		{"GET", "/api/v1/orders/nope", "http.invalid_id"},
		{"POST", "/api/v1/orders/nope/cancel", "http.invalid_id"},
		{"GET", "/api/v1/orders?status=lost", "ordering.invalid_status"},
		{"GET", "/api/v1/orders?limit=0", "http.invalid_page"},
		{"GET", "/api/v1/payments?order_id=nope", ""},
		{"GET", "/api/v1/payments", ""},
		{"GET", "/api/v1/notifications?cursor=%%%", ""},
	} {
		if r := c.do(tc.method, tc.path, nil); r.status != 400 || !strings.Contains(string(r.body), tc.code) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	var list struct{ Items []any }
	c.do("GET", "/api/v1/orders", nil).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bad requests made orders: %v", list.Items)
	}
	if s := stockOf(t, app, tea); s != (stock{OnHand: 7, Available: 7}) {
		t.Fatalf("stock %+v", s)
	}
}
