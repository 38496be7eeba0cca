package process

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// A module's own database is named by its own variable, and a failure
// wrapped the way fx wraps it is still one line.
func TestExplainNamesTheModuleDatabase(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	url := "postgres://postgres@" + addr + "/shop_payments?connect_timeout=5"
	_, err := pgconn.Connect(context.Background(), url)
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	cfg := config.Config{DatabaseURL: "postgres://postgres@127.0.0.1:5432/shop", ModuleDBURLs: map[string]string{"payments": url}}
	got := explain(fmt.Errorf("could not build arguments for function X: %w", err), cfg).Error()
	want := "cannot reach Postgres at " + addr + " (PAYMENTS_DATABASE_URL): connection refused; start it (make services) or set PAYMENTS_DATABASE_URL"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestExplainNamesRabbitMQ(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	// NewAMQP redials until its deadline and reports the last refusal; the
	// deadline leaves room for at least one dial on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	url := "amqp://guest:secret@" + addr + "/"
	_, err := bus.NewAMQP(ctx, url, watermill.NopLogger{})
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	got := explain(err, config.Config{AMQPURL: url}).Error()
	if !strings.HasPrefix(got, "cannot reach RabbitMQ at "+addr+" (AMQP_URL): connection refused; ") ||
		strings.Contains(got, "secret") || strings.Contains(got, "\n") {
		t.Fatalf("got %s", got)
	}
}

func TestBrowseURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/",
		"[::]:8080":      "http://127.0.0.1:8080/",
		"127.0.0.1:8081": "http://127.0.0.1:8081/",
		"[::1]:8080":     "http://[::1]:8080/",
	} {
		if got := browseURL(addr); got != want {
			t.Errorf("browseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
