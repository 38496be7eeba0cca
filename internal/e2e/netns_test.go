package e2e_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/modmono/shop/platform/amqptest"
)

// netns is a network namespace of the test's own, joined to the test's
// namespace by a veth pair in a private /30 of 10.231.0.0/16. A process
// started in it listens at ip; it reaches the host's 127.0.0.1 servers
// (Postgres, RabbitMQ, the other processes) only through forwarders that the
// test runs on hostIP (reach), so cutting the pair partitions it from
// everything while every process keeps running.
type netns struct {
	name, hostVeth, nsVeth string
	hostIP, ip             string

	mu       sync.Mutex
	forwards map[string]string // target host:port → forwarder host:port
	cutBy    string            // how the pair is cut now: "blackhole", "link" or ""
}

// netnsPrefix starts the name of every namespace these tests create,
// followed by the creating test binary's PID, so leftovers of a run that
// died can be told from those of a run still going.
const netnsPrefix = "shop-e2e-"

var (
	netnsSeq      atomic.Int32
	leftoversGone sync.Once
)

// requireNetns skips t unless it may create network namespaces: it needs
// root and iproute2's `ip netns`.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network partitions need root (ip netns add); skipped")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Skipf("network partitions need iproute2's ip netns (scripts/services.sh installs it): %v %s", err, out)
	}
	leftoversGone.Do(removeLeftovers)
}

// newNetns creates a namespace with its veth pair, removed when t ends.
func newNetns(t *testing.T) *netns {
	t.Helper()
	n := netnsSeq.Add(1)
	ns := &netns{
		name:     fmt.Sprintf("%s%d-%d", netnsPrefix, os.Getpid(), n),
		hostVeth: fmt.Sprintf("se%d-%dh", os.Getpid(), n), // at most 15 characters
		nsVeth:   fmt.Sprintf("se%d-%dn", os.Getpid(), n),
		forwards: map[string]string{},
	}
	ns.hostIP, ns.ip = freeSubnet(t)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", ns.name).Run() // takes the pair with it
		_ = exec.Command("ip", "link", "del", ns.hostVeth).Run()
	})
	ipCmd(t, "netns", "add", ns.name)
	ipCmd(t, "link", "add", ns.hostVeth, "type", "veth", "peer", "name", ns.nsVeth)
	ipCmd(t, "link", "set", ns.nsVeth, "netns", ns.name)
	ipCmd(t, "addr", "add", ns.hostIP+"/30", "dev", ns.hostVeth)
	ipCmd(t, "link", "set", ns.hostVeth, "up")
	ipCmd(t, "-n", ns.name, "link", "set", "lo", "up")
	ipCmd(t, "-n", ns.name, "addr", "add", ns.ip+"/30", "dev", ns.nsVeth)
	ipCmd(t, "-n", ns.name, "link", "set", ns.nsVeth, "up")
	return ns
}

// reach rewrites every URL of list (comma separated) that names a server on
// 127.0.0.1 to a forwarder on the host's end of the pair, so a process in
// the namespace reaches it; other values come back as they are.
func (ns *netns) reach(t *testing.T, list string) string {
	t.Helper()
	parts := strings.Split(list, ",")
	for i, v := range parts {
		u, err := url.Parse(v)
		if err != nil || u.Hostname() != "127.0.0.1" {
			continue
		}
		ns.mu.Lock()
		fwd, ok := ns.forwards[u.Host]
		if !ok {
			fwd = mustParse(t, amqptest.NewProxyAt(t, ns.hostIP+":0", v).URL).Host
			ns.forwards[u.Host] = fwd
		}
		ns.mu.Unlock()
		u.Host = fwd
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// cut makes every packet between the namespace and the host vanish, both
// ways, without a word to either side (a blackhole queue on each end of the
// pair); connections stay open and time out as over a dead network. Where
// the kernel lacks that queue, the namespace's end of the pair goes down
// instead, which drops the packets at the veth as silently.
func (ns *netns) cut(t *testing.T) {
	t.Helper()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if exec.Command("tc", "qdisc", "add", "dev", ns.hostVeth, "root", "blackhole").Run() == nil {
		if out, err := exec.Command("ip", "netns", "exec", ns.name, "tc", "qdisc", "add", "dev", ns.nsVeth, "root", "blackhole").CombinedOutput(); err != nil {
			t.Fatalf("tc in %s: %v %s", ns.name, err, out)
		}
		ns.cutBy = "blackhole"
		return
	}
	t.Log("no blackhole queue (sch_blackhole); cutting by taking the namespace's end of the veth pair down")
	ipCmd(t, "-n", ns.name, "link", "set", ns.nsVeth, "down")
	ns.cutBy = "link"
}

// heal undoes cut.
func (ns *netns) heal(t *testing.T) {
	t.Helper()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	switch ns.cutBy {
	case "blackhole":
		_ = exec.Command("tc", "qdisc", "del", "dev", ns.hostVeth, "root").Run()
		_ = exec.Command("ip", "netns", "exec", ns.name, "tc", "qdisc", "del", "dev", ns.nsVeth, "root").Run()
	case "link":
		ipCmd(t, "-n", ns.name, "link", "set", ns.nsVeth, "up")
	}
	ns.cutBy = ""
}

// freeSubnet picks a /30 of 10.231.0.0/16 that no interface of the host
// uses yet and returns its two addresses.
func freeSubnet(t *testing.T) (host, peer string) {
	t.Helper()
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip addr show: %v", err)
	}
	for range 100 {
		prefix, first := fmt.Sprintf("10.231.%d.", rand.IntN(256)), 4*rand.IntN(64)
		host, peer = prefix+strconv.Itoa(first+1), prefix+strconv.Itoa(first+2)
		if !bytes.Contains(out, []byte(" "+host+"/")) {
			return host, peer
		}
	}
	t.Fatal("no free /30 in 10.231.0.0/16")
	return "", ""
}

// removeLeftovers deletes the namespaces and veth pairs of earlier test
// binaries that died before their cleanup ran; those of a binary still
// running (another `go test` of this package) are left alone.
func removeLeftovers() {
	out, _ := exec.Command("ip", "netns", "list").Output() // "shop-e2e-<pid>-<n> (id: 3)"
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			if pid, ok := strings.CutPrefix(f[0], netnsPrefix); ok && deadPID(pid) {
				_ = exec.Command("ip", "netns", "del", f[0]).Run()
			}
		}
	}
	// A pair not yet moved into its namespace: "12: se<pid>-<n>h@se<pid>-<n>n: <...>".
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if pid, ok := strings.CutPrefix(name, "se"); ok && strings.HasSuffix(name, "h") && deadPID(pid) {
			_ = exec.Command("ip", "link", "del", name).Run()
		}
	}
}

// deadPID reports whether s starts with the PID of a process that no longer
// exists ("<pid>-<n>...").
func deadPID(s string) bool {
	digits, _, _ := strings.Cut(s, "-")
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
