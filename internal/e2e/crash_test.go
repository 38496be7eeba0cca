package e2e_test

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	var mu sync.Mutex
	app := s.entry
	current := func() []*process { mu.Lock(); defer mu.Unlock(); return []*process{app} }

	// Scarce stock puts the reservations under pressure; with payments as
	// the victim, plenty keeps every order calling payments.
	initial := int64(30)
	if victim == "payments" {
		initial = 100_000
	}
	tea := stocked(t, app.admin(t), 450, initial)
	buyers := []customer{app.newCustomer(t), app.newCustomer(t), app.newCustomer(t)}
	load := startLoad(t, current, buyers, tea, "tok_ok", "tok_ok", "tok_ok", "tok_decline", "tok_slow")
	for range 3 {
		time.Sleep(1500 * time.Millisecond)
		_ = s.procs[victim].signal(syscall.SIGKILL)
		if victim == "payments" {
			eventually(t, "the payments circuit breaker to open", func() bool { return breakerState(current()[0], "payments") == "2" })
		}
		next := s.restart(t, victim)
		if victim == "payments" {
			eventually(t, "the payments circuit breaker to close", func() bool { return breakerState(current()[0], "payments") == "0" })
			continue
		}
		mu.Lock()
		app = next
		mu.Unlock()
	}
	time.Sleep(time.Second)
	accepted := load.stop()
	checkNothingLost(t, s, current()[0], buyers, accepted, tea, initial)
	t.Logf("%d orders accepted across 3 crashes", len(accepted))
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
