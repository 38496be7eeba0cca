package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modmono/shop/internal/admin"
	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/host"
)

// When the broker goes away the process stays ready, its readiness and the
// console's module map both say degraded, and its databases still up.
func TestBrokerOutageShowsDegraded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application against Postgres and RabbitMQ")
	}
	if raceDetector {
		// watermill-amqp v3.1.0's ConnectionWrapper replaces its "connected"
		// channel on a lost connection without synchronisation, and its
		// subscribers read it: a race inside the library whenever a consumer's
		// connection drops, which this test does on purpose. (The publisher,
		// ours, does not use it; platform/host's outage test, without
		// consumers, runs under -race.)
		t.Skip("a lost consumer connection trips a data race inside watermill-amqp")
	}
	proxy := amqptest.NewProxy(t, amqptest.NewVHost(t))
	var h *host.HTTP
	key := authtest.NewKey(t)
	apptest.Start(t, map[string]string{"APP_JWT_SECRET": jwtSecret, "APP_JWT_PRIVATE_KEY": key.PEM, "APP_BUS": "amqp", "AMQP_URL": proxy.URL}, &h)
	t.Cleanup(proxy.Heal) // before the application stops: see amqptest.NewProxy
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)
	a := app{url: srv.URL, key: key}
	adminToken := a.token(t, auth.Admin)

	ready := func() (int, string) {
		resp, err := http.Get(srv.URL + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Status string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body.Status
	}
	healths := func() map[string]string {
		var arch admin.Architecture
		a.getJSON(t, "/api/v1/admin/architecture", adminToken, &arch)
		out := map[string]string{}
		for _, m := range arch.Modules {
			out[m.Name] = m.Health
		}
		return out
	}

	if code, status := ready(); code != 200 || status != "ok" {
		t.Fatalf("before the outage: %d %s", code, status)
	}
	for name, health := range healths() {
		if health != admin.Up {
			t.Fatalf("before the outage: %s is %s", name, health)
		}
	}

	proxy.Cut()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, status := ready()
		if code != 200 {
			t.Fatalf("the broker outage unreadied the process: %d %s", code, status)
		}
		if status == "degraded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness still says %q during the outage", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for name, health := range healths() {
		if health != admin.Degraded {
			t.Errorf("during the outage: %s is %s, want degraded", name, health)
		}
	}
}
