// Package amqptest gives tests a RabbitMQ virtual host of their own, so
// processes of concurrent tests never consume each other's messages.
package amqptest

import (
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// DefaultURL is used when AMQP_URL is not set.
const DefaultURL = "amqp://guest:guest@127.0.0.1:5672/"

// ServerURL returns the broker URL tests use.
func ServerURL() string {
	if u := os.Getenv("AMQP_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewVHost creates a virtual host (with rabbitmqctl, on this machine's
// broker), grants the URL's user everything in it, deletes it when the test
// ends, and returns the URL that connects to it.
func NewVHost(tb testing.TB) string {
	tb.Helper()
	u, err := url.Parse(ServerURL())
	if err != nil {
		tb.Fatalf("amqptest: AMQP_URL: %v", err)
	}
	vhost := "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	user := u.User.Username()
	ctl(tb, "add_vhost", vhost)
	tb.Cleanup(func() { ctl(tb, "delete_vhost", vhost) })
	ctl(tb, "set_permissions", "-p", vhost, user, ".*", ".*", ".*")
	u.Path = "/" + vhost
	return u.String()
}

func ctl(tb testing.TB, args ...string) {
	tb.Helper()
	out, err := exec.Command("rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("amqptest: rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
