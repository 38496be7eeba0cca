package e2e_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// storefrontThroughTheBFF: a storefront customer sees a product with its
// stock, registers (the session is a cookie), checks out and follows the
// order live to its confirmation through the BFF, wherever the modules run.
func storefrontThroughTheBFF(t *testing.T, s *shop) {
	tea := stocked(t, s.entry.admin(t), 450, 5)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: time.Minute}
	call := func(method, path, body string, headers ...string) (int, []byte, *http.Response) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, s.entry.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if method != http.MethodGet {
			req.Header.Set("X-Shop-Client", "storefront")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if res.Header.Get("Content-Type") == "text/event-stream" {
			return res.StatusCode, nil, res
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, res
	}

	status, body, _ := call("GET", "/bff/products/"+tea.ID, "")
	if status != 200 || !strings.Contains(string(body), `"available":5`) || !strings.Contains(string(body), `"degraded":[]`) {
		t.Fatalf("product page: %d %s", status, body)
	}
	email := "shopper-" + uuid.NewString()[:8] + "@example.com"
	if status, body, _ := call("POST", "/bff/register", `{"name":"Shopper","email":"`+email+`","password":"correct horse battery"}`); status != 201 {
		t.Fatalf("register: %d %s", status, body)
	}
	status, body, _ = call("POST", "/bff/checkout", `{"items":[{"product_id":"`+tea.ID+`","quantity":2}],"payment_token":"tok_ok"}`,
		"Idempotency-Key", uuid.NewString())
	if status != 202 {
		t.Fatalf("checkout: %d %s", status, body)
	}
	var placed struct {
		OrderID string `json:"order_id"`
	}
	if err := json.Unmarshal(body, &placed); err != nil {
		t.Fatal(err)
	}
	status, _, res := call("GET", "/bff/orders/"+placed.OrderID+"/live", "")
	if status != 200 || res == nil {
		t.Fatalf("live order: %d", status)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	last := ""
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "data: ") {
			last = l
		} else if l == "event: end" {
			lines.Scan()
			last = lines.Text()
			break
		}
	}
	if last != `data: {"status":"confirmed"}` {
		t.Fatalf("the live order stream ended with %q, want confirmed", last)
	}
}
