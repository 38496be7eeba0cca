package main

import (
	"io"
	"net/http"
	"sync"
	"time"
)

type httpResult struct {
	requests  int
	perSec    float64
	latencies latencies
	errors    int
}

// httpBench loads GET /api/v1/products/{id} of a running cmd/app from this
// process over loopback.
func httpBench(a *appProcess, concurrency int, d time.Duration) (httpResult, error) {
	var res httpResult
	id, err := a.product(450, 10)
	if err != nil {
		return res, err
	}
	url := a.base + "/api/v1/products/" + id
	load(a.client, url, concurrency, 2*time.Second) // warm up connections and the cache
	res.latencies, res.errors = load(a.client, url, concurrency, d)
	res.requests = len(res.latencies)
	res.perSec = float64(res.requests) / d.Seconds()
	return res, nil
}

// load runs concurrency closed-loop clients for d and returns the latency of
// every successful request and the number of failures.
func load(client *http.Client, url string, concurrency int, d time.Duration) (latencies, int) {
	var mu sync.Mutex
	var all latencies
	failures := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			var mine latencies
			bad := 0
			for time.Now().Before(deadline) {
				start := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			failures += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, failures
}
