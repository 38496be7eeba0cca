package web_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/browsertest"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/host"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// shop starts the whole application with its demo products behind a real
// listener and returns its base URL and its inventory.
func shop(t *testing.T) (string, inventoryapi.API) {
	t.Helper()
	var h *host.HTTP
	var inventory inventoryapi.API
	apptest.Start(t, map[string]string{"APP_SEED_DEMO": "true", "APP_PAYMENT_TIMEOUT": "1s"}, &h, &inventory)
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)
	return srv.URL, inventory
}

// accessibilityBasics lists what a screen lacks of the basics: one main
// landmark and one h1, a label for every field, a name for every button
// and link, decorative pictures hidden from screen readers.
const accessibilityBasics = `(() => {
	const problems = [];
	const named = (e) => (e.getAttribute('aria-label') || e.textContent).trim() !== '';
	if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one <main>');
	if (document.querySelectorAll('main h1').length !== 1) problems.push('not exactly one <h1> in <main>');
	for (const e of document.querySelectorAll('input, select, textarea'))
		if (!e.labels?.length && !e.getAttribute('aria-label')) problems.push('field without a label: ' + (e.id || e.name));
	for (const e of document.querySelectorAll('button, a[href]'))
		if (!named(e) && e.getAttribute('aria-hidden') !== 'true') problems.push('unnamed control: ' + e.outerHTML.slice(0, 80));
	for (const e of document.querySelectorAll('svg'))
		if (e.getAttribute('aria-hidden') !== 'true') problems.push('svg not hidden from screen readers');
	return problems;
})()`

// shot checks the screen's accessibility basics and photographs it without
// the passing toast message.
func shot(t *testing.T, p *browsertest.Page, name string) {
	t.Helper()
	problems, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](accessibilityBasics))
	if err != nil {
		t.Fatalf("accessibility check of %s: %v", name, err)
	}
	for _, problem := range problems {
		t.Errorf("screen %s: %s", name, problem)
	}
	p.Do("hide the toast", chromedp.Evaluate[chromedp.Void](`document.getElementById('toast').classList.remove('show')`),
		chromedp.Sleep(300*time.Millisecond))
	p.Screenshot(name)
}

// A customer browses, fills a cart, registers, checks out with each test
// card and watches the order page change without a reload; the orders and
// messages show up. Every screen is photographed (see docs/screenshots).
func TestStorefrontJourney(t *testing.T) {
	base, _ := shop(t)
	b := browsertest.Start(t)
	p := b.NewPage(t, 3*time.Minute)
	card := `[data-testid=product-card]`

	p.Do("home",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(card)),
		// Demo data is seeded by a worker: wait for the whole catalog.
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('[data-testid=product-card]').length >= 8`),
	)
	shot(t, p, "home")

	p.Do("product page",
		chromedp.Click(chromedp.CSS(card+`:nth-child(1) [data-testid=product-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=product-name]`)),
		chromedp.EmulateViewport(1280, 900),
	)
	name, err := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS(`[data-testid=product-name]`)))
	if err != nil || !strings.Contains(name, "Sencha") {
		t.Fatalf("product page shows %q (%v), want the first demo product", name, err)
	}
	shot(t, p, "product")
	p.Do("add two to the cart with the keyboard",
		chromedp.Focus(chromedp.CSS(`[aria-label="One more"]`)),
		chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`[data-testid=add-to-cart]`)),
		chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`document.getElementById('cart-count').textContent === '2'`),
		chromedp.Navigate(base+"/"), // a full load too: the cart is kept by the browser
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.Click(chromedp.CSS(card+`:nth-child(5) [data-testid=add-to-cart]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('cart-count').textContent === '3'`),
		chromedp.Click(chromedp.CSS(`[data-testid=nav-cart]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=cart-total]`)),
		chromedp.EmulateViewport(1280, 900),
	)
	total, _ := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS(`[data-testid=cart-total]`)))
	if !strings.Contains(total, "66.00") { // 2 × 8.50 + 49.00
		t.Errorf("cart total %q, want €66.00", total)
	}
	shot(t, p, "cart")

	email := "ada-" + uuid.NewString()[:8] + "@example.com"
	p.Do("register on the way to checkout",
		chromedp.Click(chromedp.CSS(`[data-testid=checkout-button]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=to-register]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=register-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), "short"),
		chromedp.Click(chromedp.CSS(`[data-testid=register-submit]`)),
		// The identity module's rule comes back as a problem the form shows.
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=form-error]').textContent.includes('10-128 characters')`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("password").value = ""`),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.EmulateViewport(1280, 900),
	)
	shot(t, p, "register")
	p.Do("create the account",
		chromedp.Click(chromedp.CSS(`[data-testid=register-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=checkout-form]`)),
		chromedp.EmulateViewport(1280, 900),
	)
	// The page must never hold the token: the session cookie is HttpOnly.
	if cookies, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.cookie`)); strings.Contains(cookies, "shop_session") {
		t.Errorf("page script can read the session cookie: %q", cookies)
	}
	shot(t, p, "checkout")

	// A marker in the page's memory: it survives only if the page never reloads.
	p.Do("pay with tok_ok and watch the order confirm",
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = 'yes'`),
		chromedp.Click(chromedp.CSS(`[data-testid=token-tok_ok]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=place-order]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order-status]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=order-status]').dataset.status === 'confirmed'`,
			chromedp.WithPollingTimeout(45*time.Second)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=payment-status]').textContent === 'captured'`,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.EmulateViewport(1280, 900),
	)
	if same, err := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`window.__sameDocument || 'reloaded'`)); err != nil || same != "yes" {
		t.Fatalf("the order page reloaded or navigated away (marker %q, %v)", same, err)
	}
	shot(t, p, "order-confirmed")
	confirmedURL, err := chromedp.Run(p.Ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	p.Do("pay with tok_decline and watch the order cancel",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.Click(chromedp.CSS(card+`:nth-child(3) [data-testid=add-to-cart]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=nav-cart]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=checkout-button]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=checkout-button]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=checkout-form]`)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = 'yes'`),
		chromedp.Click(chromedp.CSS(`[data-testid=token-tok_decline]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=place-order]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order-status]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=order-status]').dataset.status === 'cancelled'`,
			chromedp.WithPollingTimeout(45*time.Second)),
		chromedp.EmulateViewport(1280, 900),
	)
	reason, _ := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS(`[data-testid=order-reason]`)))
	if !strings.HasPrefix(reason, "Reason: ") || len(reason) <= len("Reason: ") {
		t.Errorf("a cancelled order shows %q, want its reason", reason)
	}
	if same, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`window.__sameDocument || 'reloaded'`)); same != "yes" {
		t.Fatal("the order page reloaded while the order was cancelled")
	}
	shot(t, p, "order-cancelled")

	p.Do("orders",
		chromedp.Click(chromedp.CSS(`[data-testid=nav-orders]`)),
		// The list is a read model: it catches up with the orders in a moment.
		chromedp.Poll[chromedp.Void](`(() => { const s = [...document.querySelectorAll('[data-testid=order-row] [data-status]')].map(e => e.dataset.status).sort().join();
			if (s !== 'cancelled,confirmed') { setTimeout(() => document.querySelector('[data-testid=nav-orders]')?.click(), 300); return false } return true })()`,
			chromedp.WithPollingInterval(time.Second), chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.EmulateViewport(1280, 900),
	)
	shot(t, p, "orders")

	p.Do("notifications",
		chromedp.Click(chromedp.CSS(`[data-testid=nav-notifications]`)),
		chromedp.Poll[chromedp.Void](`(() => { const k = [...document.querySelectorAll('[data-testid=notification]')].map(e => e.dataset.kind);
			if (!(k.includes('order_confirmed') && k.includes('order_cancelled'))) { setTimeout(() => document.querySelector('[data-testid=nav-notifications]')?.click(), 300); return false } return true })()`,
			chromedp.WithPollingInterval(time.Second), chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.EmulateViewport(1280, 900),
	)
	shot(t, p, "notifications")

	p.Do("mobile",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(card)),
	)
	shot(t, p, "home-mobile")
	p.Do("mobile order",
		chromedp.Navigate(confirmedURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order-status][data-status=confirmed]`)),
	)
	shot(t, p, "order-mobile")
}

// The stock shown on the home and product pages follows inventory live: a
// stock change elsewhere shows without a reload.
func TestStockIsLive(t *testing.T) {
	base, inventory := shop(t)
	p := browsertest.Start(t).NewPage(t, 2*time.Minute)
	p.Do("home",
		chromedp.Navigate(base+"/"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('[data-testid=product-card]').length >= 8`),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = 'yes'`),
	)
	id, err := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=product-card]').dataset.productId`))
	if err != nil {
		t.Fatal(err)
	}
	productID := uuid.MustParse(id)
	// The stream may take a moment to open after the page draws: change the
	// stock until the page shows it, each time to a new figure.
	deadline := time.Now().Add(30 * time.Second)
	for n := int64(3); ; n++ {
		if _, err := inventory.SetStock(t.Context(), productID, inventoryapi.SetStockInput{OnHand: n}); err != nil {
			t.Fatal(err)
		}
		shown, err := chromedp.Run(p.Ctx, chromedp.Poll[string](
			`(() => { const e = document.querySelector('[data-stock-for="`+id+`"]'); return e && e.dataset.available === '`+fmt.Sprint(n)+`' && e.textContent })()`,
			chromedp.WithPollingTimeout(2*time.Second)))
		if err == nil {
			if shown != fmt.Sprintf("Only %d left", n) {
				t.Errorf("badge says %q for %d units", shown, n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the home page never showed the new stock: %v", err)
		}
	}
	if same, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`window.__sameDocument || 'reloaded'`)); same != "yes" {
		t.Fatal("the page reloaded to show the stock")
	}
}
