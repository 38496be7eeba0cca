package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

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
	ids, err := a.products(products)
	if err != nil {
		return res, err
	}
	tokens, err := a.customers(concurrency)
	if err != nil {
		return res, err
	}
	run := func(d time.Duration) checkoutResult {
		var mu sync.Mutex
		r := checkoutResult{since: time.Now()}
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for c, token := range tokens {
			wg.Go(func() {
				for n := c; time.Now().Before(deadline); n += len(tokens) {
					start := time.Now()
					id, status, err := a.placeOrder(token, ids[n%len(ids)])
					if err != nil || status != http.StatusAccepted {
						mu.Lock()
						r.errors++
						mu.Unlock()
						continue
					}
					final := a.awaitOrder(token, id, 25*time.Millisecond)
					mu.Lock()
					switch final {
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

// products creates n products of 4.50 EUR with a million units each.
func (a *appProcess) products(n int) ([]string, error) {
	ids := make([]string, n)
	for i := range ids {
		var err error
		if ids[i], err = a.product(450, 1_000_000); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// customers registers n customers and returns their bearer tokens.
func (a *appProcess) customers(n int) ([]string, error) {
	tokens := make([]string, n)
	for i := range tokens {
		email := fmt.Sprintf("bench-%s@example.com", uuid.NewString()[:8])
		status, err := a.call("POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": "bench password 1", "name": "Bench"}, nil)
		if err != nil || status != http.StatusCreated {
			return nil, fmt.Errorf("register: %d %v", status, err)
		}
		if tokens[i], err = a.login(email, "bench password 1"); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// placeOrder places an order of one unit of product, paid with tok_ok,
// under a fresh Idempotency-Key, and returns its id and the status answered.
func (a *appProcess) placeOrder(token, product string) (string, int, error) {
	body := map[string]any{"items": []map[string]any{{"product_id": product, "quantity": 1}},
		"payment": map[string]string{"token": "tok_ok"}}
	var placed struct{ ID string }
	status, err := a.call("POST", "/api/v1/orders", token, body, &placed, "Idempotency-Key", uuid.NewString())
	return placed.ID, status, err
}

// awaitOrder polls the order every interval until it is no longer pending
// and returns its status ("" if it could not be read).
func (a *appProcess) awaitOrder(token, id string, interval time.Duration) string {
	var o struct{ Status string }
	for o.Status == "" || o.Status == "pending" {
		time.Sleep(interval)
		if _, err := a.call("GET", "/api/v1/orders/"+id, token, nil, &o); err != nil {
			return ""
		}
	}
	return o.Status
}
