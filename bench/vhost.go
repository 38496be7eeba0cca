package main

import (
	"fmt"
	"net/url"
	"os/exec"

	"github.com/google/uuid"
)

// newVHost creates a RabbitMQ virtual host for one run (with rabbitmqctl,
// on this machine's broker) and returns its URL and a cleanup.
func newVHost(base string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	name := "bench_" + uuid.NewString()[:8]
	for _, args := range [][]string{{"add_vhost", name}, {"set_permissions", "-p", name, u.User.Username(), ".*", ".*", ".*"}} {
		if out, err := exec.Command("rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("rabbitmqctl %v: %v: %s", args, err, out)
		}
	}
	u.Path = "/" + name
	return u.String(), func() { _ = exec.Command("rabbitmqctl", "-q", "delete_vhost", name).Run() }, nil
}
