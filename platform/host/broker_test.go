package host_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
)

// A broker outage degrades the process but leaves it ready: the outbox holds
// the events until the broker is back (SPEC §10), and unreadying every pod
// would turn a delay into an outage. bus_broker_up says it instead.
func TestBrokerOutageDegradesButStaysReady(t *testing.T) {
	proxy := amqptest.NewProxy(t, amqptest.NewVHost(t))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"APP_HTTP_ADDR": addr, "APP_MODULES": "none", "APP_BUS": "amqp", "AMQP_URL": proxy.URL}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := fx.New(host.Platform(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), nil), fx.Invoke(host.Run), fx.Invoke(host.Serve))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop(context.Background()) })
	t.Cleanup(proxy.Heal) // before the stop: see amqptest.NewProxy

	ready := func() (int, map[string]any) {
		resp, err := http.Get("http://" + addr + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	brokerUp := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "bus_broker_up{") {
				return strings.TrimSpace(line)
			}
		}
		return "bus_broker_up missing"
	}

	if code, body := ready(); code != 200 || body["status"] != "ok" {
		t.Fatalf("before the outage: %d %v", code, body)
	}
	if got := brokerUp(); got != `bus_broker_up{transport="amqp"} 1` {
		t.Fatalf("before the outage: %s", got)
	}

	proxy.Cut()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := ready()
		checks, _ := body["checks"].(map[string]any)
		if code == 200 && body["status"] == "degraded" && checks["bus:amqp"] == "degraded" {
			break
		}
		if code != 200 {
			t.Fatalf("the broker outage unreadied the process: %d %v", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker outage never showed: %d %v", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := brokerUp(); got != `bus_broker_up{transport="amqp"} 0` {
		t.Fatalf("during the outage: %s", got)
	}
}
