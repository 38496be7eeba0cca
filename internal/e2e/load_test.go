package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/auth"
)

// orderLoad is the load of the fault tests: three workers placing one- or
// two-unit orders for buyers in turn, with the payment tokens in turn,
// until stopped.
type orderLoad struct {
	halt     atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted map[string]placed // by order ID
}

// placed is an accepted order: who placed it, how it pays and when it was
// accepted.
type placed struct {
	buyer int
	token string
	at    time.Time
}

// startLoad starts the workers. entries returns the processes clients may
// send to (a gateway's instances, say); a request that finds none of them,
// or an answer that says to try again (retried), is sent again with the same
// Idempotency-Key, to the next entry, as a client behind a load balancer
// would; any other refusal fails the test.
func startLoad(t *testing.T, entries func() []*process, buyers []customer, p product, tokens ...string) *orderLoad {
	l := &orderLoad{accepted: map[string]placed{}}
	for w := range 3 {
		l.wg.Go(func() {
			for i := 0; !l.halt.Load(); i++ {
				b, token := (w+i)%len(buyers), tokens[(w+i)%len(tokens)]
				key := uuid.NewString()
				body := orderBody(token, p, 1+int64(i%2))
				for try := w; !l.halt.Load(); try++ {
					to := entries()
					r, ok := tryDo(to[try%len(to)].as(buyers[b].client.bearer), "POST", "/api/v1/orders", body, "Idempotency-Key", key)
					if ok && r.status == http.StatusAccepted {
						var o struct{ ID string }
						r.json(t, &o)
						l.mu.Lock()
						l.accepted[o.ID] = placed{buyer: b, token: token, at: time.Now()}
						l.mu.Unlock()
						break
					}
					if ok && !retried(r.status) {
						t.Errorf("place an order: %d %s", r.status, r.body)
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

// count returns how many orders were accepted so far.
func (l *orderLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

// retried reports whether a client sends an order again after an answer
// with status: the process is overloaded, a module it needs is down, or the
// first attempt with the same key is still in flight where a fault cut its
// connection (409).
func retried(status int) bool {
	return status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500
}

// stop ends the load and returns the accepted orders.
func (l *orderLoad) stop() map[string]placed {
	l.halt.Store(true)
	l.wg.Wait()
	return l.accepted
}

// checkNothingLost checks what SPEC §11 promises under faults, for the
// orders accepted (at least 10, or the test exercised little), read through
// the public API of c: every order ends confirmed or cancelled; none has
// more than one payment or was captured twice, and a cancelled one holds no
// captured money; the stock of p is conserved from initial, nothing left
// reserved; each order's outcome reached its buyer once as a notification
// (its event relayed and handled once in effect); every module's outbox
// drains and no message was dead-lettered. It returns the settled orders.
func checkNothingLost(t *testing.T, s *shop, c *process, buyers []customer, accepted map[string]placed, p product, initial int64) map[string]order {
	t.Helper()
	if len(accepted) < 10 {
		t.Fatalf("only %d orders were accepted; the test did not exercise much", len(accepted))
	}
	orders := map[string]order{}
	var units int64
	for id, pl := range accepted {
		buyer := c.as(buyers[pl.buyer].client.bearer)
		o := settled(t, buyer, id)
		orders[id] = o
		if ps := paymentsOf(t, buyer, id); len(ps) > 1 {
			t.Errorf("order %s has %d payments", id, len(ps))
		}
		checkCharged(t, buyer, id, o.Status)
		if o.Status == "confirmed" {
			for _, l := range o.Items {
				units += l.Quantity
			}
		}
	}
	eventually(t, "the stock to be conserved", func() bool {
		st := stockOf(t, c, p)
		return st.Reserved == 0 && st.OnHand+units == initial
	})
	for b, buyer := range buyers {
		var count map[string]int
		eventually(t, "every outcome notified", func() bool {
			count = outcomesNotified(t, c.as(buyer.client.bearer))
			for id, pl := range accepted {
				if pl.buyer == b && count[id+" "+orders[id].Status] == 0 {
					return false
				}
			}
			return true
		})
		for key, n := range count {
			if n > 1 {
				t.Errorf("order %s notified %d times", key, n)
			}
		}
	}
	admin := c.as(s.token(t, auth.Admin))
	eventually(t, "every outbox to be relayed", func() bool {
		var out struct{ Modules []struct{ Unrelayed *int64 } }
		r, ok := tryDo(admin, "GET", "/api/v1/admin/outbox", nil)
		if !ok || r.status != http.StatusOK {
			return false
		}
		r.json(t, &out)
		for _, m := range out.Modules {
			if m.Unrelayed == nil || *m.Unrelayed != 0 {
				return false
			}
		}
		return len(out.Modules) == len(surfaces.Names())
	})
	var dead deadLetters
	admin.do("GET", "/api/v1/admin/dead-letters", nil).json(t, &dead)
	if len(dead.Items) != 0 {
		t.Errorf("dead letters after transient faults only: %+v", dead.Items)
	}
	return orders
}

// outcomesNotified counts c's notifications of confirmed and cancelled
// orders, by "<order ID> <status>".
func outcomesNotified(t *testing.T, c *process) map[string]int {
	t.Helper()
	count := map[string]int{}
	cursor := ""
	for {
		var list struct {
			Items      []notification
			NextCursor *string `json:"next_cursor"`
		}
		path := "/api/v1/notifications?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := c.do("GET", path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("notifications: %d %s", r.status, r.body)
		}
		r.json(t, &list)
		for _, n := range list.Items {
			if status, ok := strings.CutPrefix(n.Kind, "order_"); ok {
				// "Order <id> is confirmed: ..." or "Order <id> was cancelled: ..."
				if f := strings.Fields(n.Body); len(f) > 1 {
					count[f[1]+" "+status]++
				}
			}
		}
		if list.NextCursor == nil {
			return count
		}
		cursor = *list.NextCursor
	}
}
