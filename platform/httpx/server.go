package httpx

import (
	"net/http"
	"time"
)

// Server returns an *http.Server for h on addr with every timeout set, so a
// slow or idle client cannot hold a connection forever. WriteTimeout is well
// above DefaultRequestTimeout so a handler's own deadline answers first.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
