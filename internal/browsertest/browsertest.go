// Package browsertest drives Debian's headless Chromium from Go tests with
// chromedp: one browser per test binary, a fresh tab per test with a
// deadline, the page's console errors in the test log, and screenshots.
//
// The browser starts with a fixed, small set of flags (no sandbox: the
// tests run as root in containers; no background networking, sync or
// component updates: the machine has no internet and a test must not wait
// on it) and a profile folder of its own, so nothing leaks between runs.
//
// Screenshots go to the test's artifact folder (t.ArtifactDir; keep them
// with go test -artifacts). With -update-screenshots they are also copied
// to docs/screenshots/ of the repository, where the documentation shows them.
package browsertest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var updateScreenshots = flag.Bool("update-screenshots", false,
	"copy the screenshots of browser tests to docs/screenshots/")

// ExecPathEnv names the variable that overrides where Chromium is found.
const ExecPathEnv = "CHROMIUM"

// Flags are the command-line switches the browser starts with, besides its
// profile folder (--user-data-dir) and the DevTools port chromedp adds.
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
}

// Browser is a running Chromium shared by the tests of one package.
type Browser struct {
	ctx     context.Context // the browser's own context: cancelling it ends the process
	stop    context.CancelFunc
	profile string
}

var (
	shared     *Browser
	sharedErr  error
	sharedOnce sync.Once
)

// ExecPath returns the Chromium binary to run: $CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome found on PATH.
func ExecPath() (string, error) {
	if p := os.Getenv(ExecPathEnv); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: run scripts/services.sh chromium (Debian package chromium) or set " + ExecPathEnv)
}

// Main runs a package's tests (call it from TestMain) and then ends the
// browser, if one started, and removes its profile folder. Without it the
// kernel still ends the browser with the test binary (chromedp asks for
// that on Linux), but the profile folder stays behind.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.stop()
		os.RemoveAll(shared.profile)
	}
	return code
}

// Start returns the package's browser, starting it on first use.
// A machine without Chromium fails the test: the storefront's tests are
// part of the product's bar, not optional.
func Start(t testing.TB) *Browser {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = launch() })
	if sharedErr != nil {
		t.Fatalf("browsertest: %v", sharedErr)
	}
	return shared
}

func launch() (*Browser, error) {
	path, err := ExecPath()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(profile)}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	allocCtx, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, stopBrowser := chromedp.NewContext(allocCtx)
	stop := func() { stopBrowser(); stopAlloc() }
	// The first run starts the process. It runs on ctx itself, not on a
	// context with a deadline: the browser lives as long as the context of
	// its first run. chromedp bounds the wait for the process to listen.
	if err := chromedp.Do(ctx); err != nil {
		stop()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return &Browser{ctx: ctx, stop: stop, profile: profile}, nil
}

// Page is one tab of the browser, for one test.
type Page struct {
	t   testing.TB
	Ctx context.Context // pass to chromedp.Run and chromedp.Do; it ends with the test or its deadline
}

// NewPage opens a tab that closes when the test ends; every action run on
// Ctx fails after timeout. The page's console errors and uncaught
// exceptions are written to the test log, so a failing test shows them.
// The tab has its own cookies and storage (a fresh browser context).
func (b *Browser) NewPage(t testing.TB, timeout time.Duration) *Page {
	t.Helper()
	tab, closeTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() {
		cancel()
		closeTab()
	})
	if err := chromedp.Do(ctx); err != nil { // opens the tab now, so the console is watched from the first page
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleException || m.Type == "error" {
				t.Logf("browser console %s: %s", m.Type, m.Text)
			}
		}
	}()
	return &Page{t: t, Ctx: ctx}
}

// Do runs actions on the page and fails the test on the first error,
// naming what was being done.
func (p *Page) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// Screenshot saves a PNG of the whole page as name.png under the test's
// artifact folder and, with -update-screenshots, under docs/screenshots/.
func (p *Page) Screenshot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	SaveScreenshot(p.t, name, png)
}

// SaveScreenshot writes png as name.png where Screenshot does.
func SaveScreenshot(t testing.TB, name string, png []byte) {
	t.Helper()
	file := name + ".png"
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		if err := os.WriteFile(filepath.Join(a.ArtifactDir(), file), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !*updateScreenshots {
		return
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// repoRoot is the nearest folder above the working directory with a go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("browsertest: no go.mod above the working directory")
		}
		dir = parent
	}
}
