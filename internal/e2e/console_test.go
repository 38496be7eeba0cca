package e2e_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modmono/shop/internal/browsertest"
	"github.com/modmono/shop/internal/surfaces"
)

// consoleLogin opens the architecture console of p in a new tab and logs in
// as the deployment's admin.
func consoleLogin(t *testing.T, p *process) *browsertest.Page {
	t.Helper()
	page := browsertest.Start(t).NewPage(t, 3*time.Minute)
	page.Do("log in to the console",
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(p.base+"/console"),
		chromedp.SendKeys(chromedp.CSS(`#login-email`), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), adminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=module-payments]`)),
	)
	return page
}

// consolePanelShot saves a PNG of one panel of the console (see
// browsertest.SaveScreenshot).
func consolePanelShot(t *testing.T, page *browsertest.Page, sel, name string) {
	t.Helper()
	png, err := chromedp.Run(page.Ctx, chromedp.Screenshot(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	browsertest.SaveScreenshot(t, name, png)
}

// TestConsoleDrawsAnExtractedModule: with payments in its own binary, the
// console served by the monolith draws payments in a remote process box at
// that binary's address, with its breaker, and the five others in process;
// killed, payments is drawn down.
func TestConsoleDrawsAnExtractedModule(t *testing.T) {
	t.Parallel()
	s := deploy(t, topology{name: "payments-extracted", bus: "amqp", extract: []string{"payments"}})
	page := consoleLogin(t, s.entry)
	remote := fmt.Sprintf(`[data-testid=module-payments][data-local=false][data-process=%q]`, s.procs["payments"].base)
	page.Do("payments drawn as remote",
		chromedp.WaitVisible(chromedp.CSS(remote)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid=process-remote][data-process=%q]`, s.procs["payments"].base))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=breaker-payments][data-state=closed]`)),
	)
	local, err := chromedp.Run(page.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#map .node[data-local=true]')].map((n) => n.dataset.module)`))
	if err != nil || len(local) != len(surfaces.Names())-1 {
		t.Fatalf("modules drawn in process: %v (%v), want every module but payments", local, err)
	}
	consolePanelShot(t, page, `[data-testid=panel-map]`, "console-payments-extracted")

	// Its process gone, payments turns red on the map.
	_ = s.procs["payments"].signal(syscall.SIGKILL)
	page.Do("payments drawn down", chromedp.WaitVisible(chromedp.CSS(`[data-testid=module-payments][data-local=false][data-health=down]`)))
	consolePanelShot(t, page, `[data-testid=panel-map]`, "console-payments-down")
}

// TestConsoleShowsAModuleTurningRemote is the strangler fig seen from the
// console: the page is open on a monolith running every module; payments'
// own binary starts against the monolith's database and the monolith is
// restarted routing payments to it (APP_REMOTE_PAYMENTS). Without a reload
// the page reconnects and draws payments leaving the monolith's box.
func TestConsoleShowsAModuleTurningRemote(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, "amqp")
	addr := freeAddr(t)
	mono := d.launch(t, appBinary, addr, nil)
	mono.waitReady(t)
	page := consoleLogin(t, mono)
	page.Do("payments in process", chromedp.WaitVisible(chromedp.CSS(`[data-testid=module-payments][data-local=true]`)))

	paymentsAddr := freeAddr(t)
	env := map[string]string{}
	for _, m := range surfaces.Names() {
		if m != "payments" {
			env["APP_REMOTE_"+strings.ToUpper(m)] = "http://" + addr
		}
	}
	payments := d.launch(t, extracted["payments"], paymentsAddr, env)
	payments.waitReady(t)

	if err := mono.signal(syscall.SIGTERM); err != nil {
		t.Logf("monolith stopped: %v", err)
	}
	var local []string
	for _, m := range surfaces.Names() {
		if m != "payments" {
			local = append(local, m)
		}
	}
	mono = d.launch(t, appBinary, addr, map[string]string{
		"APP_MODULES": strings.Join(local, ","), "APP_REMOTE_PAYMENTS": payments.base,
	})
	mono.waitReady(t)
	page.Do("payments turns remote on the open page",
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid=module-payments][data-local=false][data-process=%q]`, payments.base))),
		chromedp.Sleep(500*time.Millisecond), // halfway through the move
	)
	consolePanelShot(t, page, `[data-testid=panel-map]`, "console-turning-remote")
	page.Do("the move ends", chromedp.Sleep(1500*time.Millisecond))
	consolePanelShot(t, page, `[data-testid=panel-map]`, "console-turned-remote")
}
