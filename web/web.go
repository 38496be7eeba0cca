// Package web is the browser UI, embedded in the binary.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/modmono/shop/platform/httpx"
)

//go:embed static
var static embed.FS

// Handler serves the UI's files. Anything else is answered with a problem,
// like every other error of the service.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	files := http.FileServerFS(sub)
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
		info, err := fs.Stat(sub, name)
		if err == nil && info.IsDir() && name != "." {
			// A page in a folder (/console) is its index.html, served at
			// the folder's own path without a redirect.
			if _, err := fs.Stat(sub, name+"/index.html"); err == nil {
				http.ServeFileFS(w, r, sub, name+"/index.html")
				return
			}
		}
		if err != nil || info.IsDir() {
			httpx.WriteError(w, r, nil, httpx.ErrNotFound)
			return
		}
		files.ServeHTTP(w, r)
	})
}
