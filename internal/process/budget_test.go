package process_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/devpg"
	"github.com/modmono/shop/platform/host"
)

// budgetServerConns is the private server's max_connections. Three are
// reserved for superusers, so the module roles get 27: more than a
// process's default budget (24), far less than the 16-per-pool defaults
// of old (6 × 17).
const budgetServerConns = 30

// A process with the default connection budget runs a burst of concurrent
// checkouts on a Postgres with few connections: every request is answered,
// every order confirms, and its sessions never exceed the budget.
func TestCheckoutWithinTheConnectionBudget(t *testing.T) {
	if err := devpg.Installed(); err != nil {
		t.Skip(err)
	}
	srv := privatePostgres(t, "max_connections="+strconv.Itoa(budgetServerConns))
	const adminPassword = "budget-admin-password-1"
	var h *host.HTTP
	apptest.Start(t, map[string]string{
		"DATABASE_URL":            srv.DSN(), // no pool_max_conns: the budget sizes the pools
		"APP_ADMIN_PASSWORD":      adminPassword,
		"APP_RATE_LIMIT_REGISTER": "1000",
	}, &h)
	peak := watchSessions(t, srv.DSN())

	shop := &client{t: t, h: h}
	admin := shop.login("admin@example.com", adminPassword)
	var product struct{ ID string }
	shop.call(admin, http.MethodPost, "/api/v1/products", `{"name":"Budget lamp","price":1500,"currency":"EUR"}`, http.StatusCreated, &product)
	shop.call(admin, http.MethodPut, "/api/v1/inventory/"+product.ID, `{"on_hand":1000}`, http.StatusOK, nil)

	// Customers one after the other (hashing their passwords is what
	// is slow), then every order at once.
	const customers, ordersEach = 8, 8
	tokens := make([]string, customers)
	for i := range tokens {
		email := fmt.Sprintf("budget-%d-%s@example.com", i, uuid.NewString()[:8])
		password := fmt.Sprintf("a-long-password-%d", i)
		shop.call("", http.MethodPost, "/api/v1/auth/register",
			fmt.Sprintf(`{"email":%q,"password":%q,"name":"Customer %d"}`, email, password, i), http.StatusCreated, nil)
		tokens[i] = shop.login(email, password)
	}
	orders := make([]string, customers*ordersEach)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			token := tokens[i%customers]
			var placed struct{ ID string }
			shop.call(token, http.MethodPost, "/api/v1/orders",
				fmt.Sprintf(`{"items":[{"product_id":%q,"quantity":1}],"payment":{"token":"tok_ok"}}`, product.ID), http.StatusAccepted, &placed)
			orders[i] = token + " " + placed.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, o := range orders {
		token, id, _ := strings.Cut(o, " ")
		for {
			var order struct{ Status, FailureReason string }
			shop.call(token, http.MethodGet, "/api/v1/orders/"+id, "", http.StatusOK, &order)
			if order.Status == "confirmed" {
				break
			}
			if order.Status != "pending" || time.Now().After(deadline) {
				t.Fatalf("order %s: %s (%s), want confirmed", id, order.Status, order.FailureReason)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if n := peak.Load(); n > config.DefaultDBMaxConns {
		t.Errorf("the process held %d sessions at once, over its budget of %d", n, config.DefaultDBMaxConns)
	}
	t.Logf("%d checkouts confirmed; at most %d sessions of the process at once (budget %d, server max_connections %d)",
		len(orders), peak.Load(), config.DefaultDBMaxConns, budgetServerConns)
}

// privatePostgres starts a Postgres of the test's own with settings.
func privatePostgres(t *testing.T, settings ...string) *devpg.Server {
	t.Helper()
	// Not t.TempDir: as root, the server runs as the postgres user, who
	// cannot enter t.TempDir's 0700 root-owned directories.
	parent, err := os.MkdirTemp("", "budget-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) }) // registered first, so it runs after the server stops
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := devpg.Start(t.Context(), devpg.Options{Dir: filepath.Join(parent, "postgres"), Settings: settings, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// watchSessions samples, until the test ends, the sessions of the shop's
// processes on the server (its pools and relays: application_name shop-*)
// and returns the most seen at once.
func watchSessions(t *testing.T, dsn string) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var n int64
			if conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'shop-%'`).Scan(&n) == nil && n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; conn.Close(context.Background()) })
	return &peak
}

// client calls the process's routes in process.
type client struct {
	t *testing.T
	h *host.HTTP
}

func (c *client) login(email, password string) string {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.call("", http.MethodPost, "/api/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), http.StatusOK, &tok)
	return tok.AccessToken
}

// call sends a request and decodes the answer into out (when not nil); an
// unexpected status fails the test.
func (c *client) call(token, method, path, body string, want int, out any) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = randomClient() + ":40000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost && path == "/api/v1/orders" {
		r.Header.Set("Idempotency-Key", uuid.NewString())
	}
	w := httptest.NewRecorder()
	c.h.Root.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	if w.Code != want {
		c.t.Errorf("%s %s: %d %s, want %d", method, path, w.Code, b, want)
		return
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Errorf("%s %s: %v in %s", method, path, err, b)
		}
	}
}
