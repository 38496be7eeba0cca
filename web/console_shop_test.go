package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/browsertest"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
)

const consoleAdminPassword = "console-admin-password"

// shopAPI is a small client of the public API for setting up what the
// console then shows.
type shopAPI struct {
	t    *testing.T
	base string
}

func (c shopAPI) call(method, path, token string, body any, want int, out any, headers ...string) {
	c.t.Helper()
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, in)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
}

func (c shopAPI) login(email, password string) string {
	c.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, 200, &tok)
	return tok.AccessToken
}

// customer registers a new customer and returns its token.
func (c shopAPI) customer() string {
	c.t.Helper()
	email := "console-" + uuid.NewString()[:8] + "@example.com"
	c.call("POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": "a-customer-password", "name": "Ada"}, 201, nil)
	return c.login(email, "a-customer-password")
}

// TestConsoleOnTheShop drives the console against the whole shop in one
// process: an admin logs in and sees six modules; an order placed through
// the API shows its events in the stream and, clicked, its saga; a dead
// letter (the notifications table is away while a welcome is handled) is
// replayed from the console once the table is back.
func TestConsoleOnTheShop(t *testing.T) {
	dsn := pgtest.NewDatabase(t) + "&pool_max_conns=2"
	var h *host.HTTP
	apptest.Start(t, map[string]string{
		"DATABASE_URL": dsn, "APP_ADMIN_PASSWORD": consoleAdminPassword, "APP_PAYMENT_TIMEOUT": "1s",
		"APP_RATE_LIMIT_LOGIN": "1000", "APP_RATE_LIMIT_REGISTER": "1000",
	}, &h)
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)
	api := shopAPI{t: t, base: srv.URL}

	admin := api.login("admin@example.com", consoleAdminPassword)
	var product struct{ ID string }
	api.call("POST", "/api/v1/products", admin, map[string]any{"name": "Sencha", "price": 450, "currency": "EUR"}, 201, &product)
	api.call("PUT", "/api/v1/inventory/"+product.ID, admin, map[string]any{"on_hand": 10}, 200, nil)

	page := browsertest.Start(t).NewPage(t, 3*time.Minute)
	ctx := page.Ctx
	page.Do("log in to the console",
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(srv.URL+"/console"),
		chromedp.SendKeys(chromedp.CSS(`#login-email`), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), consoleAdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=module-notifications]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=live-status].on`)),
	)
	mods, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#map .node')].map((n) => n.dataset.module + ':' + n.dataset.local + ':' + n.dataset.health)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 6 {
		t.Fatalf("the map shows %v, want six modules", mods)
	}
	for _, m := range mods {
		if !strings.HasSuffix(m, ":true:up") {
			t.Errorf("module %s: want local and up in the monolith", m)
		}
	}

	customer := api.customer()
	var order struct{ ID string }
	api.call("POST", "/api/v1/orders", customer, map[string]any{
		"items": []map[string]any{{"product_id": product.ID, "quantity": 2}}, "payment": map[string]string{"token": "tok_ok"},
	}, 202, &order, "Idempotency-Key", uuid.NewString())
	ofOrder := fmt.Sprintf(`[data-testid=event][data-order-id=%q]`, order.ID)
	page.Do("the order's events in the stream",
		chromedp.WaitVisible(chromedp.CSS(ofOrder+`[data-type="ordering.order_placed"]`)),
		chromedp.WaitVisible(chromedp.CSS(ofOrder+`[data-type="ordering.order_confirmed"]`)),
	)
	page.Do("its saga, opened from the stream",
		chromedp.Click(chromedp.CSS(ofOrder+`[data-type="ordering.order_placed"] button`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=saga-status]')?.textContent === 'confirmed'`),
	)
	steps, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=saga-step]')].map((s) => s.dataset.step)`))
	if err != nil || len(steps) < 3 || steps[0] != "reserve" {
		t.Fatalf("saga steps %v (%v), want reserve first and at least three", steps, err)
	}
	// The order's trace: one trace from the request to the last handler,
	// its spans from every module the checkout went through.
	orderTrace := `[...document.querySelectorAll('[data-testid=trace]')].find((b) => b.querySelector('.root').textContent === 'POST /api/v1/orders')`
	page.Do("the order's trace",
		chromedp.Poll[chromedp.Void](orderTrace+` !== undefined`, chromedp.WithPollingTimeout(time.Minute)),
		chromedp.Evaluate[chromedp.Void](orderTrace+`.click()`),
		chromedp.Poll[chromedp.Void](`['ordering', 'inventory', 'payments', 'notifications'].every((m) => [...`+orderTrace+`.querySelectorAll('.chip')].some((c) => c.textContent === m))`,
			chromedp.WithPollingTimeout(time.Minute)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=span][data-module=ordering]`)),
	)
	consoleShot(t, ctx, "", "console-shop")

	// A dead letter: the welcome of a new customer cannot be recorded while
	// the notifications table is away; after the retries it is stored.
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	exec := func(sql string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`ALTER TABLE notifications.notifications RENAME TO notifications_away`)
	api.customer()
	welcome := `[data-testid=dead-letter][data-topic^="identity.user_registered"]`
	page.Do("the dead letter shows", chromedp.WaitVisible(chromedp.CSS(welcome)))
	exec(`ALTER TABLE notifications.notifications_away RENAME TO notifications`)
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).dataset.id`, welcome)))
	if err != nil {
		t.Fatal(err)
	}
	consoleShot(t, ctx, `[data-testid=panel-dead-letters]`, "console-shop-dead-letter")
	page.Do("replay it",
		chromedp.Click(chromedp.CSS(welcome+` [data-testid=replay]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm-dialog]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=confirm-ok]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=dead-letter-result]').textContent.startsWith('Replayed')`),
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`[data-testid=dead-letter][data-id=%q]`, id))),
	)
	consoleShot(t, ctx, `[data-testid=panel-dead-letters]`, "console-shop-replayed")
}
