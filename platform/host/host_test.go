package host_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/config"
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
