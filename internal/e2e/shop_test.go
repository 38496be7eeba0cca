package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Helpers that use the shop as its clients do: register, log in, stock
// products, place orders and wait for their outcome.

const adminPassword = "e2e-admin-password-1"

type order struct {
	ID            string  `json:"id"`
	CustomerID    string  `json:"customer_id"`
	Status        string  `json:"status"`
	Total         int64   `json:"total"`
	Currency      string  `json:"currency"`
	FailureReason *string `json:"failure_reason"`
	Items         []struct {
		ProductID string `json:"product_id"`
		Quantity  int64  `json:"quantity"`
		UnitPrice int64  `json:"unit_price"`
	} `json:"items"`
}

type payment struct {
	ID       string `json:"id"`
	OrderID  string `json:"order_id"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Events   []struct {
		Type       string    `json:"type"`
		Version    int       `json:"version"`
		OccurredAt time.Time `json:"occurred_at"`
	} `json:"events"`
}

type customer struct {
	id, email string
	client    *process
}

// login returns a client of p authenticated as email.
func (p *process) login(t testing.TB, email, password string) *process {
	t.Helper()
	r := p.do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	if r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.json(t, &tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.AccessToken == "" {
		t.Fatalf("token %+v", tok)
	}
	return p.as(tok.AccessToken)
}

// admin logs in as the seeded admin.
func (p *process) admin(t testing.TB) *process { return p.login(t, "admin@example.com", adminPassword) }

// newCustomer registers a customer and logs in.
func (p *process) newCustomer(t testing.TB) customer {
	t.Helper()
	email := "c-" + uuid.NewString()[:8] + "@example.com"
	r := p.as("").do("POST", "/api/v1/auth/register", fmt.Sprintf(`{"email":%q,"password":"correct horse battery","name":"Customer %s"}`, email, email[2:10]))
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var id struct{ ID string }
	r.json(t, &id)
	return customer{id: id.ID, email: email, client: p.as("").login(t, email, "correct horse battery")}
}

// stocked creates a product with stock, as the admin.
func stocked(t testing.TB, admin *process, price, onHand int64) product {
	t.Helper()
	var p product
	r := admin.do("POST", "/api/v1/products", fmt.Sprintf(`{"name":"P %s","price":%d,"currency":"EUR"}`, uuid.NewString()[:6], price))
	if r.status != http.StatusCreated {
		t.Fatalf("create product: %d %s", r.status, r.body)
	}
	r.json(t, &p)
	if r := admin.do("PUT", "/api/v1/inventory/"+p.ID, fmt.Sprintf(`{"on_hand":%d}`, onHand)); r.status != http.StatusOK {
		t.Fatalf("set stock: %d %s", r.status, r.body)
	}
	return p
}

// place sends an order and returns its id.
func place(t testing.TB, c *process, token string, lines ...any) string {
	t.Helper()
	r := c.do("POST", "/api/v1/orders", orderBody(token, lines...), "Idempotency-Key", uuid.NewString())
	if r.status != http.StatusAccepted {
		t.Fatalf("place order: %d %s", r.status, r.body)
	}
	var placed struct{ ID, Status string }
	r.json(t, &placed)
	if placed.Status != "pending" {
		t.Fatalf("placed %+v", placed)
	}
	return placed.ID
}

// orderBody builds {"items":[...],"payment":{"token":...}} from product/quantity pairs.
func orderBody(token string, lines ...any) string {
	items := make([]string, 0, len(lines)/2)
	for i := 0; i+1 < len(lines); i += 2 {
		items = append(items, fmt.Sprintf(`{"product_id":%q,"quantity":%d}`, lines[i].(product).ID, lines[i+1]))
	}
	return fmt.Sprintf(`{"items":[%s],"payment":{"token":%q}}`, strings.Join(items, ","), token)
}

// settled waits until the order is confirmed or cancelled.
func settled(t testing.TB, c *process, id string) order {
	t.Helper()
	var o order
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.do("GET", "/api/v1/orders/"+id, nil)
		if r.status != http.StatusOK {
			t.Fatalf("get order: %d %s", r.status, r.body)
		}
		r.json(t, &o)
		if o.Status != "pending" {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s still pending after 60 s", id)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func stockOf(t testing.TB, c *process, p product) stock {
	t.Helper()
	var s stock
	c.do("GET", "/api/v1/inventory/"+p.ID, nil).json(t, &s)
	return s
}

func paymentsOf(t testing.TB, c *process, orderID string) []payment {
	t.Helper()
	var list struct{ Items []payment }
	r := c.do("GET", "/api/v1/payments?order_id="+orderID, nil)
	if r.status != http.StatusOK {
		t.Fatalf("payments: %d %s", r.status, r.body)
	}
	r.json(t, &list)
	return list.Items
}
