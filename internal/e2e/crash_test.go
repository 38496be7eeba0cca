package e2e_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// kill -9 a process repeatedly while orders are in flight, restart it:
// every accepted order ends confirmed or cancelled, no payment is captured
// twice, and stock is conserved. When the victim is an extracted payments
// module, the monolith's circuit breaker for it opens while it is down and
// closes once it is back.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		topo   topology
		victim string
	}{
		{topologyNamed(t, "monolith"), "monolith"},
		{topologyNamed(t, "monolith-amqp"), "monolith"},
		{topologyNamed(t, "payments-extracted"), "payments"},
		{topologyNamed(t, "payments-extracted"), "monolith"},
	} {
		t.Run(tc.topo.name+"/kill-"+tc.victim, func(t *testing.T) {
			t.Parallel()
			crashRecovery(t, deploy(t, tc.topo), tc.victim)
		})
	}
}

func topologyNamed(t *testing.T, name string) topology {
	for _, topo := range topologies {
		if topo.name == name {
			return topo
		}
	}
	t.Fatalf("no topology %s", name)
	return topology{}
}

func crashRecovery(t *testing.T, s *shop, victim string) {
	// Scarce stock puts the reservations under pressure; with payments as
	// the victim, plenty keeps every order calling payments.
	initial := int64(30)
	if victim == "payments" {
		initial = 100_000
	}
	load := startLoad(t, s.entry, initial)
	for range 3 {
		time.Sleep(1500 * time.Millisecond)
		_ = s.procs[victim].signal(syscall.SIGKILL)
		if victim == "payments" {
			eventually(t, "the payments circuit breaker to open", func() bool { return breakerState(load.entry(), "payments") == "2" })
		}
		next := s.restart(t, victim)
		if victim == "payments" {
			eventually(t, "the payments circuit breaker to close", func() bool { return breakerState(load.entry(), "payments") == "0" })
			continue
		}
		load.setEntry(next)
	}
	time.Sleep(time.Second)
	load.finish(t)
}

// orderLoad is a stream of orders from three customers for one product,
// placed until finish, each retried with its idempotency key until the shop
// answers, whatever is down meanwhile.
type orderLoad struct {
	tea      product
	initial  int64
	buyers   []customer
	accepted sync.Map // order id -> buyer index
	stop     atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	current  *process // where clients connect; a restarted monolith replaces it
}

// startLoad stocks a product with initial units and starts placing orders
// through app, a mix of confirmed, declined and timed-out payments.
func startLoad(t *testing.T, app *process, initial int64) *orderLoad {
	l := &orderLoad{initial: initial, current: app}
	l.tea = stocked(t, app.admin(t), 450, initial)
	l.buyers = []customer{app.newCustomer(t), app.newCustomer(t), app.newCustomer(t)}
	tokens := []string{"tok_ok", "tok_ok", "tok_ok", "tok_decline", "tok_slow"}
	for w := range 3 {
		l.wg.Go(func() {
			for i := 0; !l.stop.Load(); i++ {
				b := (w + i) % len(l.buyers)
				key := uuid.NewString()
				body := orderBody(tokens[(w+i)%len(tokens)], l.tea, 1+int64(i%2))
				// Retry with the same key until the process answers: the key
				// makes the retry safe.
				for !l.stop.Load() {
					r, ok := tryDo(l.entry().as(l.buyers[b].client.bearer), "POST", "/api/v1/orders", body, "Idempotency-Key", key)
					if ok && r.status == http.StatusAccepted {
						var p struct{ ID string }
						r.json(t, &p)
						l.accepted.Store(p.ID, b)
						break
					}
					if ok && r.status != http.StatusServiceUnavailable && r.status != http.StatusTooManyRequests && r.status < 500 {
						t.Errorf("place: %d %s", r.status, r.body)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *orderLoad) entry() *process { l.mu.Lock(); defer l.mu.Unlock(); return l.current }

func (l *orderLoad) setEntry(p *process) { l.mu.Lock(); defer l.mu.Unlock(); l.current = p }

// finish stops placing orders and checks the outcome: every accepted order
// ends confirmed or cancelled, none has two payments or two captures, a
// confirmed one exactly one capture, and stock is conserved.
func (l *orderLoad) finish(t *testing.T) {
	l.stop.Store(true)
	l.wg.Wait()
	final := l.entry()
	var units int64
	n := 0
	l.accepted.Range(func(k, v any) bool {
		n++
		c := final.as(l.buyers[v.(int)].client.bearer)
		o := settled(t, c, k.(string))
		ps := paymentsOf(t, c, o.ID)
		if len(ps) > 1 {
			t.Errorf("order %s has %d payments", o.ID, len(ps))
		}
		captures := 0
		for _, p := range ps {
			for _, e := range p.Events {
				if e.Type == "payment.captured" {
					captures++
				}
			}
		}
		if captures > 1 {
			t.Errorf("order %s captured %d times", o.ID, captures)
		}
		if o.Status == "confirmed" {
			if captures != 1 {
				t.Errorf("confirmed order %s has %d captures", o.ID, captures)
			}
			for _, l := range o.Items {
				units += l.Quantity
			}
		}
		return true
	})
	if n < 10 {
		t.Fatalf("only %d orders were accepted; the test did not exercise much", n)
	}
	st := stockOf(t, final, l.tea)
	if st.Reserved != 0 || st.OnHand+units != l.initial {
		t.Fatalf("stock not conserved: %+v, %d units confirmed, %d initially", st, units, l.initial)
	}
	t.Logf("%d orders accepted; %d units confirmed", n, units)
}

// breakerState reads p's rpc_breaker_state of remote from /metrics: "0"
// closed, "1" half-open, "2" open, "" unknown.
func breakerState(p *process, remote string) string {
	return metric(p, `rpc_breaker_state{remote="`+remote+`"} `)
}

// metric returns the value of the /metrics line of p that starts with
// prefix (the name and labels), or "".
func metric(p *process, prefix string) string {
	r, ok := tryDo(p, "GET", "/metrics", nil)
	if !ok {
		return ""
	}
	for _, line := range strings.Split(string(r.body), "\n") {
		if v, found := strings.CutPrefix(line, prefix); found {
			return v
		}
	}
	return ""
}

// tryDo is do without failing the test when the process is down.
func tryDo(p *process, method, path string, body any, headers ...string) (r response, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	probe := *p
	probe.t = nonFatal{p.t}
	return probe.do(method, path, body, headers...), true
}

// nonFatal turns a failed request into a panic that tryDo recovers from.
type nonFatal struct{ testing.TB }

func (nonFatal) Fatalf(string, ...any) { panic("request failed") }
func (nonFatal) Fatal(...any)          { panic("request failed") }
