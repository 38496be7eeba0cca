package e2e_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modmono/shop/internal/surfaces"
)

// TestSeveralInstances: every process runs as two instances (SPEC §11,
// "several instances of any process may run at once"), in the fully
// extracted topology (each module's binary and the gateway) and as two
// monoliths behind one gateway, whose APP_REMOTE_<MODULE> lists both for
// every module. Under a stream of orders, one instance of each pair is
// killed with kill -9, all at once, and not restarted: every call, event
// and saga then has to find the survivors, at the same moment, with each
// module's work in flight lost mid-step (the harsher case, and one wait
// instead of one per pair). Every accepted order still ends, none is
// captured twice, stock is conserved, and each order's outcome is notified
// once (the outboxes relayed once in effect; checkNothingLost).
func TestSeveralInstances(t *testing.T) {
	t.Parallel()
	for _, topo := range []topology{
		{name: "every-process-twice", bus: "amqp", extract: surfaces.Names(), twice: append(surfaces.Names(), "gateway")},
		{name: "two-monoliths", bus: "amqp", twice: []string{"monolith"}},
	} {
		t.Run(topo.name, func(t *testing.T) {
			t.Parallel()
			s := deploy(t, topo)
			entries := []*process{s.entry}
			if p, ok := s.procs["gateway-2"]; ok {
				entries = append(entries, p)
			}
			initial := int64(60)
			tea := stocked(t, s.entry.admin(t), 450, initial)
			buyers := []customer{s.entry.newCustomer(t), s.entry.newCustomer(t), s.entry.newCustomer(t)}
			load := startLoad(t, func() []*process { return entries }, buyers, tea, "tok_ok", "tok_ok", "tok_decline", "tok_slow")

			time.Sleep(3 * time.Second)
			for _, b := range buyers { // notifications serves no call of the checkout
				outcomesNotified(t, s.entry.as(b.client.bearer))
			}
			var killed []string
			for name, p := range s.procs {
				if strings.HasSuffix(name, "-2") {
					// Else the pair was one instance and a spare.
					if logs := p.logs.String(); !strings.Contains(logs, `"path":"/internal/`) && !strings.Contains(logs, `"path":"/api/`) {
						t.Errorf("%s served no request before it was killed", name)
					}
					_ = p.signal(syscall.SIGKILL) // a kill -9 takes milliseconds: the pairs lose one each at once
					killed = append(killed, name)
				}
			}
			if len(killed) != len(topo.twice) {
				t.Fatalf("killed %v, want one instance of each of %v", killed, topo.twice)
			}
			before := load.count()
			time.Sleep(4 * time.Second)
			accepted := load.stop()
			if len(accepted) == before {
				t.Fatalf("no order was accepted after %v were killed", killed)
			}
			checkNothingLost(t, s, s.entry, buyers, accepted, tea, initial)
			t.Logf("%d orders accepted, %d after killing %v", len(accepted), len(accepted)-before, killed)
		})
	}
}
