package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

type httpResult struct {
	requests  int
	perSec    float64
	latencies latencies
	errors    int
}

// httpBench starts cmd/app as its own process and loads GET
// /api/v1/products/{id} from this process over loopback.
func httpBench(ctx context.Context, dsn string, concurrency int, d time.Duration) (httpResult, error) {
	var res httpResult
	dir, err := os.MkdirTemp("", "shop-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "app")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/modmono/shop/cmd/app")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return res, fmt.Errorf("build cmd/app: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	addr := ln.Addr().String()
	ln.Close()
	app := exec.Command(bin)
	app.Env = append(os.Environ(), "APP_HTTP_ADDR="+addr, "DATABASE_URL="+dsn, "APP_LOG_FORMAT=json",
		"APP_SEED_DEMO=false", "APP_DATA_DIR="+dir, "APP_BUS=gochannel")
	logs, err := os.Create(filepath.Join(dir, "app.log"))
	if err != nil {
		return res, err
	}
	app.Stdout, app.Stderr = logs, logs
	if err := app.Start(); err != nil {
		return res, err
	}
	defer func() { _ = app.Process.Signal(os.Interrupt); _ = app.Wait() }()

	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	if err := waitReady(client, base+"/health/ready", 90*time.Second); err != nil {
		return res, err
	}
	resp, err := client.Post(base+"/api/v1/products", "application/json",
		bytes.NewReader([]byte(`{"name":"Bench tea","price":450,"currency":"EUR"}`)))
	if err != nil {
		return res, err
	}
	var p struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		return res, fmt.Errorf("create product: %d %v", resp.StatusCode, err)
	}
	url := base + "/api/v1/products/" + p.ID

	// Warm up connections and caches before measuring.
	load(client, url, concurrency, 2*time.Second)
	res.latencies, res.errors = load(client, url, concurrency, d)
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

func waitReady(client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cmd/app not ready after %s", timeout)
}
