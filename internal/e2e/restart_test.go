package e2e_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/devpg"
)

// TestDependencyRestarts restarts RabbitMQ and Postgres under a stream of
// orders, in the monolith and with every module extracted: every accepted
// order settles, none is captured twice, stock is conserved, nothing is
// dead-lettered, and no process had to be restarted. The servers are the
// test's own, never the shared ones.
func TestDependencyRestarts(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"monolith", "monolith-amqp", "fully-extracted"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			topo := topologyNamed(t, name)
			pg := startPrivatePostgres(t)
			topo.servers.postgres = pg.DSN()
			var broker *privateBroker
			if topo.bus == "amqp" {
				broker = startPrivateBroker(t)
				topo.servers.amqp = broker.url
			}
			s := deploy(t, topo)
			// Plenty of stock keeps orders reaching payments through the faults.
			const initial = 200
			tea := stocked(t, s.entry.admin(t), 450, initial)
			buyers := []customer{s.entry.newCustomer(t), s.entry.newCustomer(t), s.entry.newCustomer(t)}
			entry := func() []*process { return []*process{s.entry} }
			load := startLoad(t, entry, buyers, tea, "tok_ok", "tok_ok", "tok_ok", "tok_decline", "tok_slow")

			time.Sleep(1500 * time.Millisecond)
			if broker != nil {
				broker.stop(t)
				time.Sleep(3 * time.Second) // orders keep coming: the outboxes hold their events
				broker.start(t)
				time.Sleep(1500 * time.Millisecond)
			}
			pg.restart(t)
			time.Sleep(1500 * time.Millisecond)
			accepted := load.stop()
			checkNothingLost(t, s, s.entry, buyers, accepted, tea, initial)
			t.Logf("%d orders accepted across the restarts", len(accepted))

			for name, p := range s.procs {
				select {
				case err := <-p.done:
					p.done <- err
					t.Errorf("%s exited (%v): a process must recover by itself", name, err)
				default:
				}
			}
		})
	}
}

// privatePostgres is a Postgres server of one test's own (platform/devpg,
// from the installed programs), restarted on the same port.
type privatePostgres struct {
	*devpg.Server
	dir string
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	dir, err := os.MkdirTemp("", "shop-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// The server runs as the postgres user when the test runs as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{dir: filepath.Join(dir, "data")}
	p.Server = p.start(t, 0)
	t.Cleanup(func() {
		if err := p.Stop(context.Background()); err != nil {
			t.Errorf("stop the private Postgres: %v", err)
		}
		_ = os.RemoveAll(dir)
	})
	return p
}

func (p *privatePostgres) start(t *testing.T, port int) *devpg.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devpg.Start(ctx, devpg.Options{Dir: p.dir, DBName: "postgres", Port: port, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Skipf("no private Postgres: %v", err)
	}
	return s
}

// restart stops the server (sessions disconnected), keeps it down a few
// seconds, and starts it again on the same port.
func (p *privatePostgres) restart(t *testing.T) {
	t.Helper()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	p.Server = p.start(t, p.Port())
}

// privateBroker is a RabbitMQ node of one test's own, run from the
// installed rabbitmq-server in the foreground on free ports, its data in a
// temporary folder, so stopping it disturbs nobody else. It keeps its node
// name and data across a restart: durable queues and their messages
// survive, as on a real broker.
type privateBroker struct {
	url             string
	node, port, dir string
	distPort        string
	cmd             *exec.Cmd
	done            chan struct{}
}

func startPrivateBroker(t *testing.T) *privateBroker {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		t.Skip("no rabbitmq-server on this machine")
	}
	dir, err := os.MkdirTemp("", "shop-e2e-rabbit-")
	if err != nil {
		t.Fatal(err)
	}
	// rabbitmq-server drops to the rabbitmq user when started as root.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port, dist := freePort(t), freePort(t)
	b := &privateBroker{node: fmt.Sprintf("shop-e2e-%d-%s@localhost", os.Getpid(), port), port: port, distPort: dist, dir: dir,
		url: "amqp://guest:guest@127.0.0.1:" + port + "/"}
	t.Cleanup(func() {
		b.stop(t)
		_ = os.RemoveAll(dir)
	})
	b.start(t)
	return b
}

// start runs the node and waits until it takes AMQP connections.
func (b *privateBroker) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("rabbitmq-server")
	cmd.Env = append(os.Environ(),
		"RABBITMQ_NODENAME="+b.node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+b.port,
		"RABBITMQ_DIST_PORT="+b.distPort,
		"RABBITMQ_MNESIA_BASE="+filepath.Join(b.dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(b.dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(b.dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(b.dir, "none"), // not the shared broker's configuration
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(b.dir, "none.config"),
	)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.WaitDelay = 5 * time.Second // should the VM keep our pipes
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		conn, err := amqp.Dial(b.url)
		if err == nil {
			_ = conn.Close()
			return
		}
		select {
		case <-b.done:
			t.Fatalf("rabbitmq-server exited at start:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private RabbitMQ did not start in 90 s: %v\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop stops the node and waits until it is gone. rabbitmqctl shutdown,
// because a signal to rabbitmq-server reaches only its launcher script
// (it runs the VM as the rabbitmq user through su), not the node.
func (b *privateBroker) stop(t *testing.T) {
	t.Helper()
	if b.cmd == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "rabbitmqctl", "-n", b.node, "shutdown").CombinedOutput(); err != nil {
		t.Errorf("stop the private RabbitMQ %s: %v\n%s", b.node, err, out)
	}
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		t.Errorf("the private RabbitMQ's launcher did not exit after its node stopped")
	}
	b.cmd = nil
	// The Erlang VM may outlive the script by a moment: wait until the
	// port is free for the next start.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+b.port, time.Second)
		if err != nil {
			return
		}
		_ = conn.Close()
	}
}
