package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/mdblock"
	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/pgtest"
)

// TestMigrationGuides follows docs/migrations/<module>.md as a person would:
// every shell block of the guide, in order, with the guide's own defaults
// overridden only by its variables (databases, ports, the run folder), while
// customers keep ordering through the monolith. Afterwards every accepted
// order has ended, none was captured twice, stock is conserved, what was
// there before is still readable, and an order confirmed before the move can
// be cancelled and refunded after it.
func TestMigrationGuides(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and follows whole guides")
	}
	for _, module := range []string{"payments", "ordering"} {
		t.Run(module, func(t *testing.T) { followGuide(t, module) })
	}
}

func followGuide(t *testing.T, module string) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "migrations", module+".md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := mdblock.Shell(string(doc))
	if len(blocks) < 10 {
		t.Fatalf("the guide has %d shell blocks; is it the generated one?", len(blocks))
	}
	g := newGuideRun(t, module)
	prelude := blocks[0]

	// Step 1 starts the monolith on the broker; then the shop gets its
	// customers and a stream of orders that lasts until the last step.
	g.run(prelude, blocks[1])
	app := &process{t: t, base: g.monolith}
	admin := app.admin(t)
	const initial = 100_000
	tea := stocked(t, admin, 450, initial)
	buyers := []customer{app.newCustomer(t), app.newCustomer(t), app.newCustomer(t)}
	early := app.newCustomer(t) // orders once, before the move
	first := place(t, early.client, "tok_ok", tea, int64(2))
	if o := settled(t, early.client, first); o.Status != "confirmed" {
		t.Fatalf("the first order ended %s", o.Status)
	}
	stream := startOrders(t, app, buyers, tea)
	runsLocally(t, admin, module, true)

	var downtime string
	for i, b := range blocks[2:] {
		out := g.run(prelude, b)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "downtime") {
				downtime = line
			}
		}
		t.Logf("block %d done", i+2)
	}
	accepted := stream.stop()
	// The monolith, restarted with APP_REMOTE_<MODULE>, shows it remote.
	runsLocally(t, admin, module, false)

	// Every accepted order ends, once charged at most, stock conserved.
	var units int64
	for id, b := range accepted {
		c := buyers[b].client
		o := settled(t, c, id)
		captures := 0
		for _, p := range paymentsOf(t, c, id) {
			for _, e := range p.Events {
				if e.Type == "payment.captured" {
					captures++
				}
			}
		}
		switch {
		case captures > 1 || (o.Status == "confirmed" && captures != 1):
			t.Errorf("order %s is %s with %d captures", id, o.Status, captures)
		case o.Status == "confirmed":
			for _, l := range o.Items {
				units += l.Quantity
			}
		}
	}
	if len(accepted) < 20 {
		t.Errorf("only %d orders were accepted during the guide", len(accepted))
	}

	// The order from before the move is still there, with its payment and
	// notification, and can be cancelled and refunded now.
	c := early.client
	if r := c.do("POST", "/api/v1/orders/"+first+"/cancel", nil); r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("cancel the first order: %d %s", r.status, r.body)
	}
	eventually(t, "the first order to be refunded", func() bool {
		ps := paymentsOf(t, c, first)
		return len(ps) == 1 && ps[0].Status == "refunded"
	})
	eventually(t, "the first order's notifications", func() bool {
		r := c.do("GET", "/api/v1/notifications?limit=100", nil)
		return r.status == http.StatusOK && bytes.Contains(r.body, []byte(first+" was cancelled")) && bytes.Contains(r.body, []byte(first+" is confirmed"))
	})
	eventually(t, "stock to be conserved", func() bool {
		st := stockOf(t, app, tea)
		return st.Reserved == 0 && st.OnHand+units == initial
	})
	t.Logf("%s moved out under %d orders (%d units confirmed and kept); %s", module, len(accepted), units, strings.TrimSpace(downtime))
}

// guideRun is the environment a guide's commands run in.
type guideRun struct {
	t        *testing.T
	env      []string
	dir      string // SHOP_RUN: binaries, logs, process IDs
	monolith string
}

func newGuideRun(t *testing.T, module string) *guideRun {
	up := strings.ToUpper(module)
	dir := t.TempDir()
	monolithPort, modulePort := freePort(t), freePort(t)
	g := &guideRun{t: t, dir: dir, monolith: "http://127.0.0.1:" + monolithPort}
	g.env = append(os.Environ(),
		"SHOP_DB="+pgtest.NewDatabase(t),
		up+"_DB="+pgtest.NewDatabase(t),
		"AMQP_URL="+amqptest.NewVHost(t),
		"APP_JWT_SECRET=guide-"+strings.Repeat("s", 40),
		"MONOLITH_PORT="+monolithPort, up+"_PORT="+modulePort,
		"SHOP_RUN="+dir, "OVERLAY="+filepath.Join(dir, "overlay"),
		// What any deployment sets for itself: its admin, its data folder,
		// no demo data, and (one client address for every customer) no
		// rate limits.
		"APP_ADMIN_PASSWORD="+adminPassword, "APP_DATA_DIR="+filepath.Join(dir, "data"),
		"APP_SEED_DEMO=false", "APP_PAYMENT_TIMEOUT=1s", "APP_LOG_FORMAT=json",
		"APP_RATE_LIMIT_LOGIN=100000", "APP_RATE_LIMIT_REGISTER=100000", "APP_RATE_LIMIT_ORDERS=100000",
	)
	t.Cleanup(g.stopAll)
	return g
}

// run runs a block after the prelude in a new bash, from the repository
// root, and returns what it printed. A failing command fails the test.
func (g *guideRun) run(prelude, block string) string {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+prelude+"\n"+block)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = g.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The block's background processes outlive its bash: they write their
	// own logs, and stopAll ends them by the IDs the guide keeps.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		g.t.Fatalf("guide block failed: %v\n--- block:\n%s\n--- output:\n%s%s", err, block, out.String(), g.logs())
	}
	return out.String()
}

// logs returns the tail of every process log in the run folder.
func (g *guideRun) logs() string {
	files, _ := filepath.Glob(filepath.Join(g.dir, "*.log"))
	var b strings.Builder
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(string(raw), "\n")
		fmt.Fprintf(&b, "\n--- %s (last lines):\n%s", filepath.Base(f), strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
	return b.String()
}

// stopAll ends the processes the guide started, by the IDs it kept.
func (g *guideRun) stopAll() {
	pids, _ := filepath.Glob(filepath.Join(g.dir, "*.pid"))
	for _, f := range pids {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if g.t.Failed() {
		g.t.Log(g.logs())
	}
}

func freePort(t *testing.T) string {
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// orderStream is customers ordering one product while the deployment
// changes under them.
type orderStream struct {
	halt     atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted map[string]int // order ID → buyer
}

// startOrders starts three customers placing one- or two-unit orders with
// every test token. A request that finds no process, or a module being
// moved (503), is sent again with the same Idempotency-Key, as a client
// should; any other refusal fails the test.
func startOrders(t *testing.T, app *process, buyers []customer, p product) *orderStream {
	s := &orderStream{accepted: map[string]int{}}
	tokens := []string{"tok_ok", "tok_ok", "tok_ok", "tok_decline"}
	for w := range 3 {
		s.wg.Go(func() {
			for i := 0; !s.halt.Load(); i++ {
				b := (w + i) % len(buyers)
				key := uuid.NewString()
				body := orderBody(tokens[(w+i)%len(tokens)], p, 1+int64(i%2))
				for !s.halt.Load() {
					r, ok := tryDo(app.as(buyers[b].client.bearer), "POST", "/api/v1/orders", body, "Idempotency-Key", key)
					if ok && r.status == http.StatusAccepted {
						var placed struct{ ID string }
						r.json(t, &placed)
						s.mu.Lock()
						s.accepted[placed.ID] = b
						s.mu.Unlock()
						break
					}
					if ok && r.status != http.StatusServiceUnavailable && r.status != http.StatusConflict {
						t.Errorf("place an order: %d %s", r.status, r.body)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(150 * time.Millisecond)
			}
		})
	}
	return s
}

// stop ends the stream and returns the accepted orders.
func (s *orderStream) stop() map[string]int {
	s.halt.Store(true)
	s.wg.Wait()
	return s.accepted
}

// runsLocally requires the admin API's architecture to show module local
// to the answering process, or not.
func runsLocally(t *testing.T, admin *process, module string, local bool) {
	t.Helper()
	var arch architecture
	if r := admin.do("GET", "/api/v1/admin/architecture", nil); r.status != http.StatusOK {
		t.Fatalf("architecture: %d %s", r.status, r.body)
	} else {
		r.json(t, &arch)
	}
	for _, m := range arch.Modules {
		if m.Name == module && (m.Local != local || (m.Process == "local") != local) {
			t.Errorf("the architecture shows %s local %t at %q, want local %t", module, m.Local, m.Process, local)
		}
	}
}
