package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modmono/shop/internal/browsertest"
	"github.com/modmono/shop/web"
)

// consoleFixture answers the admin endpoints the console reads with fixed
// data in the shapes of SPEC §9, so the page can be driven and pictured
// without a running shop (internal/e2e drives it against the real one).
type consoleFixture struct {
	mu          sync.Mutex
	remote      map[string]string // module → base URL of the process running it
	deadLetters []map[string]any
	events      chan string // SSE messages, written as they come
	stop        chan struct{}
	replayed    []string
}

const (
	fixtureToken = "fixture-admin-token"
	fixtureOrder = "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e"
)

var fixtureModules = []struct {
	name, summary    string
	calls            []string
	publishes, needs []string
}{
	{"identity", "", nil, []string{"identity.user_registered", "identity.user_updated"}, nil},
	{"catalog", "", nil, []string{"catalog.product_created", "catalog.product_updated"}, nil},
	{"inventory", "", []string{"catalog"}, []string{"inventory.stock_changed"}, []string{"catalog.product_created"}},
	{"notifications", "", nil, nil, []string{"identity.user_registered", "ordering.order_confirmed", "ordering.order_cancelled", "payments.payment_refunded"}},
	{"ordering", "", []string{"catalog", "inventory", "payments"}, []string{"ordering.order_placed", "ordering.order_confirmed", "ordering.order_cancelled"}, []string{"identity.user_registered", "identity.user_updated", "ordering.order_placed"}},
	{"payments", "", nil, []string{"payments.payment_captured", "payments.payment_failed", "payments.payment_refunded"}, nil},
}

func (f *consoleFixture) architecture() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var mods []map[string]any
	for _, m := range fixtureModules {
		url, remote := f.remote[m.name]
		db := "postgres://127.0.0.1:5432/shop"
		process := "local"
		if remote {
			process = url
			db = "postgres://127.0.0.1:5432/shop_" + m.name
		}
		mod := map[string]any{
			"name": m.name, "local": !remote, "process": process, "schema": m.name, "database": db,
			"calls": orEmpty(m.calls), "publishes": orEmpty(m.publishes), "consumes": orEmpty(m.needs), "health": "up",
		}
		if remote {
			mod["breaker"] = "closed"
			mod["instances"] = []map[string]any{{"url": url, "up": true}}
		}
		if m.name == "notifications" {
			mod["health"] = "degraded"
		}
		mods = append(mods, mod)
	}
	return map[string]any{"modules": mods}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (f *consoleFixture) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("POST /api/v1/auth/login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password string }
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.Email != "admin@example.com" || in.Password != "secret" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"title":"Unauthorized","status":401,"code":"auth.invalid_credentials"}`)
			return
		}
		writeFixture(w, map[string]any{"access_token": fixtureToken, "token_type": "Bearer", "expires_in": 900})
	})
	admin := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+fixtureToken {
				w.WriteHeader(401)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/v1/admin/architecture", admin(func(w http.ResponseWriter, _ *http.Request) { writeFixture(w, f.architecture()) }))
	mux.HandleFunc("GET /api/v1/admin/outbox", admin(func(w http.ResponseWriter, _ *http.Request) {
		writeFixture(w, map[string]any{"modules": []map[string]any{
			{"module": "identity", "process": "local", "unrelayed": 0, "oldest_age_seconds": 0},
			{"module": "catalog", "process": "local", "unrelayed": 0, "oldest_age_seconds": 0},
			{"module": "inventory", "process": "local", "unrelayed": 3, "oldest_age_seconds": 1.4},
			{"module": "ordering", "process": "local", "unrelayed": 12, "oldest_age_seconds": 4.2},
			{"module": "payments", "process": "local", "unrelayed": 1, "oldest_age_seconds": 0.3},
			{"module": "notifications", "process": "local", "unrelayed": 0, "oldest_age_seconds": 0},
		}})
	}))
	mux.HandleFunc("GET /api/v1/admin/dead-letters", admin(func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeFixture(w, map[string]any{"items": f.deadLetters, "next_cursor": nil})
	}))
	mux.HandleFunc("POST /api/v1/admin/dead-letters/{id}/replay", admin(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.replayed = append(f.replayed, r.PathValue("id"))
		f.deadLetters = nil
		w.WriteHeader(204)
	}))
	mux.HandleFunc("GET /api/v1/admin/sagas/{id}", admin(func(w http.ResponseWriter, r *http.Request) {
		at := time.Date(2026, 12, 2, 21, 30, 0, 0, time.UTC)
		step := func(name, outcome string, ms int) map[string]any {
			return map[string]any{"step": name, "outcome": outcome, "at": at.Add(time.Duration(ms) * time.Millisecond)}
		}
		writeFixture(w, map[string]any{"order_id": r.PathValue("id"), "status": "confirmed", "order_status": "confirmed", "step": "done", "steps": []map[string]any{
			step("reserve", "done, next charge", 38), step("charge", "retry", 121), step("charge", "done, next confirm", 164),
			step("confirm", "done, next done", 181), step("done", "confirmed", 190),
		}})
	}))
	mux.HandleFunc("GET /api/v1/admin/traces", admin(func(w http.ResponseWriter, _ *http.Request) { writeFixture(w, fixtureTraces()) }))
	mux.HandleFunc("GET /api/v1/admin/events", admin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		flusher := w.(http.Flusher)
		flusher.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-f.stop:
				return
			case msg := <-f.events:
				fmt.Fprint(w, msg)
				flusher.Flush()
			}
		}
	}))
	return mux
}

func writeFixture(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fixtureEvent(typ, module string, at time.Time, payload map[string]any) string {
	env := map[string]any{"id": fmt.Sprintf("0193a4f2-0000-7000-8000-%012d", at.UnixNano()%1e12), "type": typ, "version": 1,
		"occurred_at": at, "correlation_id": "c0ffee00-1234-4abc-8def-0123456789ab", "causation_id": "", "payload": payload}
	b, _ := json.Marshal(env)
	return "data: " + string(b) + "\n\n"
}

func fixtureTraces() map[string]any {
	t0 := time.Date(2026, 12, 2, 21, 30, 0, 0, time.UTC)
	id := "4bf92f3577b34da6a3ce929d0e0e4736"
	span := func(sid, parent, name, module, kind string, startMS, durMS float64) map[string]any {
		return map[string]any{"trace_id": id, "span_id": sid, "parent_span_id": parent, "name": name, "module": module,
			"process": "local", "kind": kind, "start": t0.Add(time.Duration(startMS * float64(time.Millisecond))), "duration_ms": durMS,
			"status": "ok", "error": "", "attributes": map[string]any{"http.route": "/api/v1/orders"}}
	}
	spans := []map[string]any{
		span("a1", "", "POST /api/v1/orders", "ordering", "server", 0, 46),
		span("a2", "a1", "catalog.GetProduct", "catalog", "internal", 3, 6),
		span("a3", "a2", "SELECT catalog.products", "catalog", "client", 4, 2.5),
		span("a4", "a1", "INSERT orders", "ordering", "client", 11, 4),
		span("a5", "a1", "outbox relay ordering.order_placed", "ordering", "producer", 18, 3),
		span("a6", "a5", "handle ordering.order_placed", "ordering", "consumer", 22, 23),
		span("a7", "a6", "inventory.Reserve", "inventory", "client", 23, 8),
		span("a8", "a6", "payments.Charge", "payments", "client", 32, 11),
		span("a9", "a8", "fake provider authorize", "payments", "internal", 34, 7),
	}
	return map[string]any{"items": []map[string]any{
		{"trace_id": id, "root": "POST /api/v1/orders", "start": t0, "duration_ms": 46.0, "modules": []string{"ordering", "catalog", "inventory", "payments"}, "spans": spans},
		{"trace_id": "9a1b", "root": "GET /api/v1/products", "start": t0.Add(-time.Second), "duration_ms": 4.1, "modules": []string{"catalog"},
			"spans": []map[string]any{span("b1", "", "GET /api/v1/products", "catalog", "server", -1000, 4.1)}},
	}, "next_cursor": nil}
}

// consoleAccessibility lists what the console lacks of the basics: one
// <main> and one <h1>, a label on every field, a name on every control,
// every drawing either hidden from screen readers or named, every map node
// reachable with the keyboard.
const consoleAccessibility = `(() => {
	const problems = [];
	const named = (e) => (e.getAttribute('aria-label') || e.textContent || e.title || '').trim() !== '';
	const shown = (e) => e.getClientRects().length > 0;
	if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one <main>');
	if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one <h1>');
	for (const e of document.querySelectorAll('input, select, textarea'))
		if (shown(e) && !e.labels?.length && !e.getAttribute('aria-label')) problems.push('field without a label: ' + (e.id || e.name));
	for (const e of document.querySelectorAll('button, a[href]'))
		if (shown(e) && !named(e)) problems.push('unnamed control: ' + e.outerHTML.slice(0, 80));
	for (const e of document.querySelectorAll('svg'))
		if (shown(e) && e.getAttribute('aria-hidden') !== 'true' && !e.getAttribute('aria-label') && !e.closest('[aria-hidden=true]')) problems.push('svg neither hidden nor named');
	for (const e of document.querySelectorAll('#map .node'))
		if (e.getAttribute('tabindex') !== '0' || !e.getAttribute('aria-label')) problems.push('map node not reachable or unnamed: ' + e.dataset.module);
	return problems;
})()`

func checkConsoleAccessibility(t *testing.T, ctx context.Context, screen string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](consoleAccessibility))
	if err != nil {
		t.Fatalf("accessibility check of %s: %v", screen, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", screen, p)
	}
}

// TestConsoleAgainstFixtures drives the console in Chromium against fixed
// admin answers: the login, the map of six modules, an order's events
// opening its saga, a module turning remote, a replay, the traces.
func TestConsoleAgainstFixtures(t *testing.T) {
	page := browsertest.Start(t).NewPage(t, 2*time.Minute)
	ctx := page.Ctx
	f := &consoleFixture{remote: map[string]string{}, events: make(chan string, 64), stop: make(chan struct{})}
	f.deadLetters = []map[string]any{{
		"id": "0193a4f2-1111-7000-8000-000000000001", "module": "notifications", "handler": "notifications.welcome",
		"topic": "identity.user_registered", "message_id": "x", "error": "bus: malformed message: identity.user_registered version 2 is not known here",
		"attempts": 1, "failed_at": time.Now().Add(-3 * time.Minute),
	}}
	srv := httptest.NewServer(f.handler(t))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.stop) }) // first: the stream holds the server open

	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	run("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	run("a wrong password", chromedp.SendKeys(chromedp.CSS(`#login-email`), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), "nope"), chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)))
	text := func(what, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf("document.querySelector(%q).textContent", sel), chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	msg := text("read the login error", `[data-testid=login-error]`)
	if !strings.Contains(msg, "Wrong email or password") {
		t.Fatalf("login error %q", msg)
	}
	checkConsoleAccessibility(t, ctx, "login")
	consoleShot(t, ctx, "", "console-login")
	run("log in", chromedp.SetValue(chromedp.CSS(`#login-password`), "secret"), chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=module-payments]`)))
	if n := count(`#map .node`); n != 6 {
		t.Fatalf("%d modules on the map, want 6", n)
	}
	if n := count(`#map .edge.call`); n != 4 {
		t.Errorf("%d call arrows, want 4 (inventory→catalog, ordering→catalog, inventory, payments)", n)
	}

	at := time.Now()
	f.events <- fixtureEvent("identity.user_registered", "identity", at, map[string]any{"user_id": "u1", "email": "ada@example.com"})
	f.events <- fixtureEvent("ordering.order_placed", "ordering", at.Add(10*time.Millisecond), map[string]any{"order_id": fixtureOrder})
	f.events <- fixtureEvent("inventory.stock_changed", "inventory", at.Add(48*time.Millisecond), map[string]any{"product_id": "p1"})
	f.events <- fixtureEvent("payments.payment_captured", "payments", at.Add(170*time.Millisecond), map[string]any{"order_id": fixtureOrder})
	f.events <- "event: dropped\ndata: {\"count\":3}\n\n"
	f.events <- fixtureEvent("ordering.order_confirmed", "ordering", at.Add(200*time.Millisecond), map[string]any{"order_id": fixtureOrder})
	run("events arrive", chromedp.WaitVisible(chromedp.CSS(`[data-testid=event][data-type="ordering.order_confirmed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=events-dropped]`)))
	run("open the saga from the stream", chromedp.Click(chromedp.CSS(`[data-testid=event][data-type="ordering.order_placed"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=saga-step][data-step=done]`)))
	if n := count(`[data-testid=saga-step]`); n != 5 {
		t.Errorf("%d saga steps, want 5", n)
	}
	run("traces drawn", chromedp.WaitVisible(chromedp.CSS(`[data-testid=span]`)))
	checkConsoleAccessibility(t, ctx, "console")
	consoleShot(t, ctx, "", "console")
	consoleShot(t, ctx, `[data-testid=panel-events]`, "console-events")
	consoleShot(t, ctx, `[data-testid=panel-saga]`, "console-saga")
	consoleShot(t, ctx, `[data-testid=panel-traces]`, "console-traces")

	run("pause the stream", chromedp.Click(chromedp.CSS(`[data-testid=events-pause]`)))
	f.events <- fixtureEvent("catalog.product_created", "catalog", time.Now(), map[string]any{"product_id": "p2"})
	run("an event held while paused", chromedp.WaitVisible(chromedp.CSS(`[data-testid=events-held]`)))
	if n := count(`[data-testid=event][data-type="catalog.product_created"]`); n != 0 {
		t.Errorf("an event shown while paused")
	}
	run("resume", chromedp.Click(chromedp.CSS(`[data-testid=events-pause]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=event][data-type="catalog.product_created"]`)))

	run("a saga by its order id", chromedp.SetValue(chromedp.CSS(`#saga-order`), "0193a4f2-0000-7000-8000-00000000beef"),
		chromedp.Click(chromedp.CSS(`[data-testid=saga-open]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=saga-order-id]')?.textContent === '0193a4f2-0000-7000-8000-00000000beef'`, chromedp.WithPollingTimeout(5*time.Second)))
	run("a wrong order id", chromedp.SetValue(chromedp.CSS(`#saga-order`), "not-an-id"), chromedp.Click(chromedp.CSS(`[data-testid=saga-open]`)))
	if msg := text("the saga's error", `[data-testid=saga] .error`); !strings.Contains(msg, "UUID") {
		t.Errorf("a wrong order id says %q", msg)
	}

	run("filter by module", chromedp.SetValue(chromedp.CSS(`#filter-module`), "payments"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#filter-module').dispatchEvent(new Event('input'))`))
	if n := count(`[data-testid=event]`); n != 1 {
		t.Errorf("%d events shown for module payments, want 1", n)
	}

	run("select a module with the keyboard", chromedp.Focus(chromedp.CSS(`[data-testid=module-ordering]`)), chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=module-detail] h3')?.textContent.startsWith('ordering')`, chromedp.WithPollingTimeout(5*time.Second)))
	if n := count(`#map .edge.hl`); n < 4 {
		t.Errorf("%d arrows highlighted for ordering, want its calls and events", n)
	}
	consoleShot(t, ctx, `[data-testid=panel-map]`, "console-module-detail")
	run("unselect", chromedp.KeyEvent(" "))

	f.mu.Lock()
	f.remote["payments"] = "http://127.0.0.1:8083"
	f.mu.Unlock()
	run("payments turns remote", chromedp.WaitVisible(chromedp.CSS(`[data-testid=module-payments][data-local=false]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=breaker-payments]`)), chromedp.Sleep(1600*time.Millisecond))
	consoleShot(t, ctx, `[data-testid=panel-map]`, "console-map-payments-remote")
	consoleShot(t, ctx, `[data-testid=panel-breakers]`, "console-breakers")
	consoleShot(t, ctx, `[data-testid=panel-outbox]`, "console-outbox")

	consoleShot(t, ctx, `[data-testid=panel-dead-letters]`, "console-dead-letters")
	run("replay a dead letter", chromedp.Click(chromedp.CSS(`[data-testid=replay]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm-dialog]`)), chromedp.Click(chromedp.CSS(`[data-testid=confirm-ok]`)))
	run("the list empties", chromedp.WaitVisible(chromedp.CSS(`[data-testid=dead-letters-empty]`)))
	msg = text("read the replay's result", `[data-testid=dead-letter-result]`)
	if !strings.Contains(msg, "Replayed") || len(f.replayed) != 1 {
		t.Fatalf("replay result %q, replayed %v", msg, f.replayed)
	}

	f.mu.Lock()
	for i, m := range fixtureModules {
		f.remote[m.name] = fmt.Sprintf("http://127.0.0.1:%d", 8081+i)
	}
	f.mu.Unlock()
	run("every module turns remote", chromedp.WaitNotPresent(chromedp.CSS(`#map .node[data-local=true]`)), chromedp.Sleep(1600*time.Millisecond))
	consoleShot(t, ctx, `[data-testid=panel-map]`, "console-map-fully-extracted")

	run("dark theme", chromedp.Click(chromedp.CSS(`#theme`)), chromedp.Sleep(300*time.Millisecond))
	consoleShot(t, ctx, "", "console-dark")

	run("a tablet", chromedp.EmulateViewport(820, 1180), chromedp.Sleep(300*time.Millisecond))
	consoleShot(t, ctx, "", "console-tablet")
}

// consoleShot saves a PNG of the element sel, or of the whole page when sel
// is empty, as browsertest saves screenshots (docs/screenshots with
// -update-screenshots).
func consoleShot(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	action := chromedp.FullScreenshot(100)
	if sel != "" {
		action = chromedp.Screenshot(chromedp.CSS(sel), chromedp.NodeVisible)
	}
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	browsertest.SaveScreenshot(t, name, png)
}
