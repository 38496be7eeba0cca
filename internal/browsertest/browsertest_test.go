package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modmono/shop/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// The harness opens a page, runs script in it, reads the DOM and takes a
// screenshot; two pages do not share cookies.
func TestPageRunsScriptsAndKeepsCookiesApart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "seen", Value: "yes", Path: "/"})
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>t</title><main><h1 id="h">hello</h1></main>
<script>document.getElementById('h').dataset.ran = 'yes'</script>`))
	}))
	defer srv.Close()

	b := browsertest.Start(t)
	p := b.NewPage(t, 30*time.Second)
	p.Do("open", chromedp.Navigate(srv.URL+"/set"), chromedp.WaitVisible(chromedp.CSS("#h")))
	text, err := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS("#h")))
	if err != nil || text != "hello" {
		t.Fatalf("text = %q, %v", text, err)
	}
	ran, err := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.getElementById('h').dataset.ran`))
	if err != nil || ran != "yes" {
		t.Fatalf("script ran = %q, %v", ran, err)
	}
	p.Screenshot("harness")

	other := b.NewPage(t, 30*time.Second)
	other.Do("open", chromedp.Navigate(srv.URL+"/"))
	cookies, err := chromedp.Run(other.Ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || cookies != "" {
		t.Fatalf("the second page sees cookies %q (%v); pages must not share them", cookies, err)
	}
}
