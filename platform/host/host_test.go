package host_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/freeport"
	"github.com/modmono/shop/platform/host"
)

// Stopping the application lets a request that is already running finish.
func TestStopDrainsInFlightRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"APP_HTTP_ADDR": addr, "APP_MODULES": "none", "APP_BUS": "gochannel"}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	app := fx.New(
		host.Platform(cfg, zaptest.NewLogger(t), nil),
		fx.Invoke(func(h *host.HTTP) {
			h.API.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
				close(started)
				time.Sleep(300 * time.Millisecond)
				_, _ = io.WriteString(w, "done")
			})
		}),
		fx.Invoke(host.Run),
		fx.Invoke(host.Serve),
	)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/api/v1/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if _, err := http.Get("http://" + addr + "/health/live"); err == nil {
		t.Fatal("server still answers after stop")
	}
}

// A forwarded client address is believed only from a forwarder holding this
// deployment's service token, and /internal admits service callers only.
func TestGatewayTrustAndInternalRoutes(t *testing.T) {
	secret := "host-test-" + strings.Repeat("s", 40)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"APP_MODULES": "none", "APP_BUS": "gochannel", "APP_JWT_SECRET": secret}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var h *host.HTTP
	app := fx.New(host.Platform(cfg, zaptest.NewLogger(t), nil), fx.Populate(&h), fx.NopLogger)
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	h.API.Get("/whoami", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.RemoteAddr) })
	h.Internal.Get("/ping", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "pong") })
	ours := auth.NewServiceTokens([]byte(secret), "gateway")
	theirs := auth.NewServiceTokens([]byte("another-deployment-"+strings.Repeat("x", 40)), "gateway")
	token := func(st *auth.ServiceTokens) string {
		tok, err := st.Token()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	forwarding := func(st *auth.ServiceTokens) string {
		tok, err := st.ForwardToken()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	for _, tc := range []struct {
		name, path, token, forwarded string
		status                       int
		body                         string
	}{
		{"no token: the peer address stands", "/api/v1/whoami", "", "203.0.113.7", 200, "192.0.2.1:1234"},
		{"a foreign forwarding token: the peer address stands", "/api/v1/whoami", forwarding(theirs), "203.0.113.7", 200, "192.0.2.1:1234"},
		{"a service token does not vouch for it", "/api/v1/whoami", token(ours), "203.0.113.7", 200, "192.0.2.1:1234"},
		{"our forwarding token: the forwarded client", "/api/v1/whoami", forwarding(ours), "198.51.100.1, 203.0.113.7", 200, "203.0.113.7:0"},
		{"internal without a token", "/internal/ping", "", "", 401, "auth.invalid_service_token"},
		{"internal with a foreign token", "/internal/ping", token(theirs), "", 401, "auth.invalid_service_token"},
		{"internal with a forwarding token", "/internal/ping", forwarding(ours), "", 401, "auth.invalid_service_token"},
		{"internal with our token", "/internal/ping", token(ours), "", 200, "pong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.path, nil)
			r.RemoteAddr = "192.0.2.1:1234"
			if tc.token != "" {
				r.Header.Set(auth.ServiceHeader, tc.token)
			}
			if tc.forwarded != "" {
				r.Header.Set("X-Forwarded-For", tc.forwarded)
			}
			w := httptest.NewRecorder()
			h.Root.ServeHTTP(w, r)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("%d %s, want %d with %q", w.Code, w.Body, tc.status, tc.body)
			}
		})
	}
}

// Behind trusted proxies (APP_TRUSTED_PROXIES) the client is the address
// they saw; the gateway's forwarding token, when valid, is believed first.
func TestClientAddressBehindTrustedProxies(t *testing.T) {
	secret := "host-test-" + strings.Repeat("p", 40)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"APP_MODULES": "none", "APP_BUS": "gochannel", "APP_JWT_SECRET": secret,
			"APP_TRUSTED_PROXIES": "10.0.0.0/8"}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var h *host.HTTP
	app := fx.New(host.Platform(cfg, zaptest.NewLogger(t), nil), fx.Populate(&h), fx.NopLogger)
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	h.API.Get("/whoami", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.RemoteAddr) })
	forward, err := auth.NewServiceTokens([]byte(secret), "gateway").ForwardToken()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer, token, forwarded, want string
	}{
		{"from a trusted proxy", "10.0.0.5:1234", "", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7:0"},
		{"from anyone else", "192.0.2.1:1234", "", "203.0.113.7", "192.0.2.1:1234"},
		{"from our gateway", "192.0.2.1:1234", forward, "198.51.100.1, 203.0.113.7", "203.0.113.7:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/whoami", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set("X-Forwarded-For", tc.forwarded)
			if tc.token != "" {
				r.Header.Set(auth.ServiceHeader, tc.token)
			}
			w := httptest.NewRecorder()
			h.Root.ServeHTTP(w, r)
			if w.Body.String() != tc.want {
				t.Fatalf("client %q, want %q", w.Body, tc.want)
			}
		})
	}
}

// With APP_INTERNAL_ADDR, /internal is served there only: the public
// listener answers 404 for it, however the path is spelled, and serves the
// rest; the internal one serves everything and still wants a service
// token. Stopping drains a request in flight on either.
func TestInternalListener(t *testing.T) {
	public, internal := freePort(t), freePort(t)
	secret := "host-test-" + strings.Repeat("i", 40)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"APP_HTTP_ADDR": public, "APP_INTERNAL_ADDR": internal, "APP_MODULES": "none",
			"APP_BUS": "gochannel", "APP_JWT_SECRET": secret}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	app := fx.New(
		host.Platform(cfg, zaptest.NewLogger(t), nil),
		fx.Invoke(func(h *host.HTTP) {
			h.Internal.Get("/ping", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "pong") })
			h.Internal.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
				started <- struct{}{}
				time.Sleep(300 * time.Millisecond)
				_, _ = io.WriteString(w, "done")
			})
		}),
		fx.Invoke(host.Run),
		fx.Invoke(host.Serve),
		fx.NopLogger,
	)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	token, err := auth.NewServiceTokens([]byte(secret), "test").Token()
	if err != nil {
		t.Fatal(err)
	}
	get := func(addr, path string) (int, string) {
		t.Helper()
		// A raw request line, so no client cleans the path first.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n%s: %s\r\nConnection: close\r\n\r\n", path, auth.ServiceHeader, token)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/internal/ping", "/internal", "//internal/ping", "/api/../internal/ping", "/internal/../internal/ping", "/%69nternal/ping"} {
		if code, body := get(public, path); code != 404 || !strings.Contains(body, "http.not_found") {
			t.Errorf("public %s: %d %s", path, code, body)
		}
	}
	if code, _ := get(public, "/health/live"); code != 200 {
		t.Errorf("public /health/live: %d", code)
	}
	for path, want := range map[string]int{"/internal/ping": 200, "/health/live": 200} {
		if code, body := get(internal, path); code != want {
			t.Errorf("internal %s: %d %s", path, code, body)
		}
	}
	if resp, err := http.Get("http://" + internal + "/internal/ping"); err != nil || resp.StatusCode != 401 {
		t.Errorf("internal without a service token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	got := make(chan string, 1)
	go func() { _, body := get(internal, "/internal/slow"); got <- body }()
	<-started
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request on the internal listener: %q", body)
	}
	for _, addr := range []string{public, internal} {
		if _, err := http.Get("http://" + addr + "/health/live"); err == nil {
			t.Errorf("%s still answers after stop", addr)
		}
	}
}

func freePort(t *testing.T) string { return freeport.Addr(t) }
