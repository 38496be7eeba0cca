// Package web is the browser UI, embedded in the binary: the storefront at
// / and, when its files are there, the architecture console at /console.
//
// The storefront is a single page whose screens have real paths
// (/products/{id}, /orders/{id}, ...): those paths answer its index.html and
// the page's script draws the screen, so a link or a reload of any screen
// works. Any other unknown path is a problem 404, like every other error of
// the service.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/modmono/shop/platform/httpx"
)

//go:embed static
var static embed.FS

// storefrontRoutes are the storefront's screens, drawn by its script.
var storefrontRoutes = regexp.MustCompile(`^(cart|checkout|login|register|orders|notifications|` +
	`products/[0-9a-fA-F-]{36}|orders/[0-9a-fA-F-]{36})$`)

// consoleIndex is the console's page; /console and its own client routes
// answer it when it exists.
const consoleIndex = "console/index.html"

// Handler serves the UI's files. Anything else is answered with a problem,
// like every other error of the service.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return handler(sub)
}

func handler(files fs.FS) http.Handler {
	server := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpx.WriteError(w, r, nil, httpx.ErrMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		if info, err := fs.Stat(files, name); err == nil && !info.IsDir() {
			server.ServeHTTP(w, r)
			return
		}
		page := ""
		switch {
		case storefrontRoutes.MatchString(name):
			page = "index.html"
		case name == "console" || strings.HasPrefix(name, "console/"):
			page = consoleIndex
		}
		if page == "" {
			httpx.WriteError(w, r, nil, httpx.ErrNotFound)
			return
		}
		// Served as the page itself (not a redirect), so the address the
		// browser shows stays the screen's.
		if _, err := fs.Stat(files, page); err != nil {
			httpx.WriteError(w, r, nil, httpx.ErrNotFound)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, page)
	})
}
