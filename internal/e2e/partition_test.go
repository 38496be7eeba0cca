package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPartition cuts an extracted module off the network for 10 s under a
// stream of orders, then heals the network (SPEC §11). The module's process
// runs in a network namespace of the test's own and reaches Postgres,
// RabbitMQ and the monolith through forwarders on the host's end of a veth
// pair (netns); the cut drops every packet both ways, so calls hang as on a
// dead network rather than fail at once. While cut, the monolith's circuit
// breaker for the module opens; once healed it closes, without a process
// restarted. Orders wait or compensate as the checkout saga is designed to
// (below), every accepted order ends, none is captured twice, and stock is
// conserved.
func TestPartition(t *testing.T) {
	t.Parallel()
	requireNetns(t)
	for _, tc := range []struct {
		module string
		// designed says whether an order paying with token may end with
		// status and reason when module was cut off while it was placed.
		designed func(token, status, reason string) bool
	}{
		// A charge that gets no answer within APP_PAYMENT_TIMEOUT cancels
		// the order (its payment voided once payments is back); one refused
		// by the open breaker is tried again, so the order waits.
		{"payments", func(token, status, reason string) bool {
			return status == "confirmed" && token == "tok_ok" ||
				status == "cancelled" && (reason == "payment declined" && token == "tok_decline" || strings.HasPrefix(reason, "payment timed out"))
		}},
		// Stock steps are tried again until the checkout's deadline, far
		// beyond the cut: every order waits and ends as it would have.
		{"inventory", func(token, status, reason string) bool {
			return status == "confirmed" && token == "tok_ok" || status == "cancelled" && reason == "payment declined" && token == "tok_decline"
		}},
	} {
		t.Run(tc.module, func(t *testing.T) {
			t.Parallel()
			s := deploy(t, topology{name: tc.module + "-partitioned", bus: "amqp", extract: []string{tc.module}, isolate: tc.module,
				internal: true /* the module's peers are not on loopback: development serves them /internal only on its internal listener */})
			initial := int64(100_000) // plenty: every order goes on to payments
			tea := stocked(t, s.entry.admin(t), 450, initial)
			buyers := []customer{s.entry.newCustomer(t), s.entry.newCustomer(t), s.entry.newCustomer(t)}
			load := startLoad(t, func() []*process { return []*process{s.entry} }, buyers, tea, "tok_ok", "tok_ok", "tok_decline")

			time.Sleep(2 * time.Second)
			cutAt := time.Now()
			s.netns.cut(t)
			opened := false
			for time.Since(cutAt) < 10*time.Second {
				opened = opened || breakerState(s.entry, tc.module) == "2"
				time.Sleep(100 * time.Millisecond)
			}
			s.netns.heal(t)
			healedAt := time.Now()
			if !opened {
				t.Errorf("the monolith's breaker for %s did not open while it was cut off", tc.module)
			}
			eventually(t, tc.module+" to be ready again", func() bool {
				r, ok := tryDo(s.procs[tc.module], "GET", "/health/ready", nil)
				return ok && r.status == http.StatusOK
			})
			eventually(t, "the breaker to close once healed", func() bool { return breakerState(s.entry, tc.module) == "0" })
			t.Logf("breaker closed %v after the heal", time.Since(healedAt).Round(100*time.Millisecond))
			time.Sleep(2 * time.Second)
			accepted := load.stop()

			orders := checkNothingLost(t, s, s.entry, buyers, accepted, tea, initial)
			during, outcomes := 0, map[string]int{}
			for id, pl := range accepted {
				o := orders[id]
				reason := ""
				if o.FailureReason != nil {
					reason = *o.FailureReason
				}
				outcomes[o.Status+" "+reason]++
				if pl.at.After(cutAt) && pl.at.Before(healedAt) {
					during++
				}
				if !tc.designed(pl.token, o.Status, reason) {
					t.Errorf("order %s paying with %s placed %v after the cut: %s %q", id, pl.token, pl.at.Sub(cutAt).Round(time.Millisecond), o.Status, reason)
				}
			}
			if during == 0 {
				t.Error("no order was accepted while the module was cut off")
			}
			for name, p := range s.procs {
				select {
				case err := <-p.done:
					p.done <- err
					t.Errorf("%s exited: %v", name, err)
				default:
				}
			}
			t.Logf("%d orders accepted, %d during the cut; outcomes %v", len(accepted), during, outcomes)
		})
	}
}
