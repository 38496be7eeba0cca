package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// CommitsPerCheckout counts the write transactions one confirmed checkout
// costs, by design: placing the order (1); reserving stock and recording the
// step (2); the payment's initiated, authorized and captured events and the
// step (4); committing the stock and finishing the saga (2); the read model
// for placed and confirmed and the notification (3). Claims and relay
// deletes are batched and left out.
const CommitsPerCheckout = 12

type checkoutResult struct {
	confirmed int
	cancelled int
	errors    int
	perSec    float64
	latencies latencies     // placement -> confirmed, as a client polling every 25 ms sees it
	since     time.Time     // when the measured run (after the warm-up) began
	cpu       time.Duration // CPU time cmd/app used in the measured run; 0 if unknown
}

// checkoutBench runs concurrency customers, each placing an order (one unit
// of one of products, tok_ok) and polling it until it is confirmed, then
// the next, for d. With products 1 every order contends for one stock row.
func checkoutBench(a *appProcess, concurrency, products int, d time.Duration) (checkoutResult, error) {
	var res checkoutResult
	ids := make([]string, products)
	for i := range ids {
		var err error
		if ids[i], err = a.product(450, 1_000_000); err != nil {
			return res, err
		}
	}
	tokens := make([]string, concurrency)
	for i := range tokens {
		email := fmt.Sprintf("bench-%s@example.com", uuid.NewString()[:8])
		status, err := a.call("POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": "bench password 1", "name": "Bench"}, nil)
		if err != nil || status != http.StatusCreated {
			return res, fmt.Errorf("register: %d %v", status, err)
		}
		if tokens[i], err = a.login(email, "bench password 1"); err != nil {
			return res, err
		}
	}
	run := func(d time.Duration) checkoutResult {
		var mu sync.Mutex
		r := checkoutResult{since: time.Now()}
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for c, token := range tokens {
			wg.Go(func() {
				for n := c; time.Now().Before(deadline); n += len(tokens) {
					body := map[string]any{"items": []map[string]any{{"product_id": ids[n%len(ids)], "quantity": 1}},
						"payment": map[string]string{"token": "tok_ok"}}
					start := time.Now()
					var placed struct{ ID string }
					status, err := a.call("POST", "/api/v1/orders", token, body, &placed, "Idempotency-Key", uuid.NewString())
					if err != nil || status != http.StatusAccepted {
						mu.Lock()
						r.errors++
						mu.Unlock()
						continue
					}
					var o struct{ Status string }
					for o.Status == "" || o.Status == "pending" {
						time.Sleep(25 * time.Millisecond)
						if _, err := a.call("GET", "/api/v1/orders/"+placed.ID, token, nil, &o); err != nil {
							break
						}
					}
					mu.Lock()
					switch o.Status {
					case "confirmed":
						r.confirmed++
						r.latencies = append(r.latencies, time.Since(start))
					case "cancelled":
						r.cancelled++
					default:
						r.errors++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		r.perSec = float64(r.confirmed) / d.Seconds()
		return r
	}
	run(2 * time.Second) // warm up
	before, known := a.cpuTime()
	r := run(d)
	if after, ok := a.cpuTime(); ok && known {
		r.cpu = after - before
	}
	return r, nil
}
