package main

import (
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/modmono/shop/internal/surfaces"
)

// Checkout topologies (SPEC §7): every module in cmd/app, or payments in
// its own binary with its own database and the rest in cmd/app.
const (
	topoMonolith          = "monolith"
	topoPaymentsExtracted = "payments-extracted"
)

// checkoutRun is one checkout measurement: a topology on a transport.
type checkoutRun struct {
	topology string
	driver   string
}

// checkoutRuns lists the runs of topologies: the monolith on each of
// drivers, payments extracted on amqp (a process boundary needs the broker).
func checkoutRuns(topologies, drivers []string) ([]checkoutRun, error) {
	var runs []checkoutRun
	for _, t := range topologies {
		switch t {
		case topoMonolith:
			for _, d := range drivers {
				runs = append(runs, checkoutRun{topology: t, driver: d})
			}
		case topoPaymentsExtracted:
			runs = append(runs, checkoutRun{topology: t, driver: "amqp"})
		default:
			return nil, fmt.Errorf("-checkout-topologies: unknown topology %q (known: %s, %s)", t, topoMonolith, topoPaymentsExtracted)
		}
	}
	return runs, nil
}

// deployment is the processes of one topology; clients connect to entry.
type deployment struct {
	entry *appProcess
	procs []*appProcess // in the order they are stopped: entry first
}

func (d *deployment) stop() {
	for _, p := range d.procs {
		p.stop()
	}
}

// extractedDeployment describes payments extracted: its binary, its own
// database and where its pprof listens (empty: nowhere).
type extractedDeployment struct {
	paymentsBin, paymentsDSN, paymentsDebugAddr string
}

// startPaymentsExtracted starts the monolith without payments (bin, on dsn)
// and payments in its own binary on its own database, both on the broker
// at vhost, each told where the other's modules run, as
// internal/e2e/topology_test.go deploys them. It waits until both are ready
// and logs in to the monolith as its admin.
func startPaymentsExtracted(bin, dsn, dataDir string, clients int, vhost string, x extractedDeployment) (*deployment, error) {
	const module = "payments"
	monoAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	payAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	payData := filepath.Join(dataDir, module+"-data")
	if err := os.MkdirAll(payData, 0o700); err != nil {
		return nil, err
	}
	var local []string
	payEnv := []string{"APP_BUS=amqp", "AMQP_URL=" + vhost, "APP_MODULES=" + module,
		"DATABASE_URL=", // nothing of payments lives in the monolith's database
		strings.ToUpper(module) + "_DATABASE_URL=" + x.paymentsDSN,
		"APP_DEBUG_ADDR=" + x.paymentsDebugAddr}
	for _, m := range surfaces.Names() {
		if m != module {
			local = append(local, m)
			payEnv = append(payEnv, "APP_REMOTE_"+strings.ToUpper(m)+"=http://"+monoAddr)
		}
	}
	monoEnv := []string{"APP_BUS=amqp", "AMQP_URL=" + vhost, "APP_MODULES=" + strings.Join(local, ","),
		"APP_REMOTE_" + strings.ToUpper(module) + "=http://" + payAddr}

	d := &deployment{}
	mono, err := launchApp("app", bin, monoAddr, dsn, dataDir, clients, monoEnv...)
	if err != nil {
		return nil, err
	}
	d.procs = append(d.procs, mono)
	pay, err := launchApp(module, x.paymentsBin, payAddr, "", payData, clients, payEnv...)
	if err != nil {
		d.stop()
		return nil, err
	}
	d.procs = append(d.procs, pay)
	for _, p := range d.procs {
		if err := p.ready(); err != nil {
			d.stop()
			return nil, err
		}
	}
	if mono.admin, err = mono.login("admin@example.com", benchAdminPassword); err != nil {
		d.stop()
		return nil, err
	}
	d.entry = mono
	return d, nil
}

// live holds every process the bench started and has not stopped, so that
// an interrupt stops them too.
var live struct {
	sync.Mutex
	procs []*appProcess
}

func track(a *appProcess) {
	live.Lock()
	defer live.Unlock()
	live.procs = append(live.procs, a)
}

func untrack(a *appProcess) {
	live.Lock()
	defer live.Unlock()
	live.procs = slices.DeleteFunc(live.procs, func(p *appProcess) bool { return p == a })
}

// cleanups are the bench's undo steps still due (databases, virtual hosts,
// the temporary folder), run in reverse on an interrupt.
var cleanups struct {
	sync.Mutex
	next  int
	steps map[int]func()
}

// atExit registers f to run on an interrupt and returns a function that
// runs it (at most once, either way) and unregisters it: defer that.
func atExit(f func()) func() {
	cleanups.Lock()
	defer cleanups.Unlock()
	if cleanups.steps == nil {
		cleanups.steps = map[int]func(){}
	}
	id := cleanups.next
	cleanups.next++
	var once sync.Once
	run := func() { once.Do(f) }
	cleanups.steps[id] = run
	return func() {
		cleanups.Lock()
		delete(cleanups.steps, id)
		cleanups.Unlock()
		run()
	}
}

// stopOnSignal stops the processes still running when the bench is
// interrupted or terminated, runs the due cleanups, then exits.
func stopOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		fmt.Fprintln(os.Stderr, "\nbench:", s, "- stopping the processes it started and cleaning up")
		live.Lock()
		procs := slices.Clone(live.procs)
		live.Unlock()
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Go(p.stop)
		}
		wg.Wait()
		cleanups.Lock()
		ids := slices.Sorted(maps.Keys(cleanups.steps))
		steps := cleanups.steps
		cleanups.steps = nil
		cleanups.Unlock()
		for _, id := range slices.Backward(ids) {
			steps[id]()
		}
		os.Exit(1)
	}()
}
