package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The intake and the latency of one order alone (issue 11): both against one
// cmd/app on the in-process bus, the monolith as `make run` starts it.

const (
	intakeProducts   = 100 // the intake's orders spread over these, so no stock row is contended
	aloneOrders      = 50  // orders placed one after the other for the latency of an order alone
	intakeSettleTime = 5 * time.Minute
)

// Targets of issue 11 for these sections.
const (
	intakeRatioTarget   = 0.25 // accepted orders/s over the reference at the same concurrency
	intakeP50Target     = 1500 * time.Microsecond
	aloneP50Target      = 5 * time.Millisecond
	checkoutRatioTarget = 0.04 // confirmed orders/s over the reference at the checkout's clients
	oneProductTarget    = 0.5  // one product's checkout over the many products'
	lightP99Target      = 5 * time.Millisecond
)

// orderingConfig says which of the two sections run and at which
// concurrencies the intake is loaded (besides the single client).
type orderingConfig struct {
	checkoutConfig
	intakeClients []int
	intake, alone bool
}

// orderingBench starts cmd/app on gochannel and measures, in this order, the
// latency of one order alone and the intake: a single client, then each of
// the intake's concurrencies, each next to the reference at the same
// concurrency (measured first, before cmd/app starts).
func orderingBench(ctx context.Context, c orderingConfig) error {
	refs := newReferences(ctx, c.dsn, c.duration)
	if c.intake {
		for _, n := range c.intakeClients {
			if _, err := refs.get(n); err != nil {
				return err
			}
		}
	}
	clients := slices.Max(append([]int{1}, c.intakeClients...))
	a, err := startApp(c.bin, c.dsn, c.dir, clients, "APP_BUS=gochannel")
	if err != nil {
		return fmt.Errorf("start cmd/app: %w", err)
	}
	defer a.stop()
	products, err := a.products(intakeProducts)
	if err != nil {
		return err
	}
	tokens, err := a.customers(clients)
	if err != nil {
		return err
	}
	if c.alone {
		if err := aloneLatency(ctx, a, c.dsn, tokens[0], products[0]); err != nil {
			return err
		}
	}
	if !c.intake {
		return nil
	}
	single, err := intakeOnce(ctx, a, c.dsn, tokens[:1], products, c.duration)
	if err != nil {
		return err
	}
	recordBelow("intake, 1 client, POST /orders -> 202 p50", fmt.Sprintf("p50 %s (p99 %s)", ms(single.latencies.percentile(50)), ms(single.latencies.percentile(99))),
		single.latencies.percentile(50), intakeP50Target, true)
	for _, n := range c.intakeClients {
		r, err := intakeOnce(ctx, a, c.dsn, tokens[:n], products, c.duration)
		if err != nil {
			return err
		}
		ref, _ := refs.get(n)
		fmt.Printf("  ratio accepted/s / reference at %2d clients     %8.3f          target >= %.2f\n", n, r.perSec/ref, intakeRatioTarget)
		recordRatio(fmt.Sprintf("intake, %d clients, POST /orders -> 202", n), fmt.Sprintf("%.0f orders/s", r.perSec), refs.label(n),
			r.perSec, ref, intakeRatioTarget, 0)
	}
	return nil
}

// aloneLatency places aloneOrders orders one after the other, each alone in
// the shop (the previous one confirmed and 50 ms of quiet since), and prints
// placed -> confirmed by the orders' own timestamps (created_at ->
// updated_at of the confirmed order).
func aloneLatency(ctx context.Context, a *appProcess, dsn, token, product string) error {
	since := time.Now()
	cancelled := 0
	for range aloneOrders {
		id, status, err := a.placeOrder(token, product)
		if err != nil || status != http.StatusAccepted {
			return fmt.Errorf("place an order alone: %d %v%s", status, err, a.exited())
		}
		if a.awaitOrder(token, id, 5*time.Millisecond) != "confirmed" {
			cancelled++
		}
		time.Sleep(50 * time.Millisecond)
	}
	server, err := confirmationTimes(ctx, dsn, since)
	if err != nil {
		return fmt.Errorf("read the orders' timestamps: %w", err)
	}
	fmt.Printf("one order alone, placed -> confirmed, order timestamps  %s  target p50 <= %s  (%d not confirmed)\n\n",
		server, short(aloneP50Target), cancelled)
	recordBelow("one order alone, placed -> confirmed p50", fmt.Sprintf("p50 %s (p99 %s)", ms(server.percentile(50)), ms(server.percentile(99))),
		server.percentile(50), aloneP50Target, true)
	return nil
}

type intakeResult struct {
	accepted  int
	errors    int
	perSec    float64
	latencies latencies // POST -> 202, as the client sees it
}

// intakeOnce runs one client per token placing orders back to back (one
// unit of one of products each, a fresh Idempotency-Key each), not waiting
// for them, for 2 s of warm-up and then d while cmd/app runs their sagas in
// the background. It prints accepted orders per second and the latency of
// the answers, then waits until every order placed has settled (confirmed
// or cancelled), so the next run starts without a backlog.
func intakeOnce(ctx context.Context, a *appProcess, dsn string, tokens, products []string, d time.Duration) (intakeResult, error) {
	warmup := time.Now()
	placeFor(a, tokens, products, 2*time.Second)
	r := placeFor(a, tokens, products, d)
	loadEnd := time.Now()
	label := fmt.Sprintf("%d clients", len(tokens))
	if len(tokens) == 1 {
		label = "1 client "
	}
	fmt.Printf("intake POST /api/v1/orders -> 202, %-10s   %8.0f orders/s   (%d accepted, %d errors, sagas running meanwhile)\n",
		label, r.perSec, r.accepted, r.errors)
	fmt.Printf("  POST -> 202, seen by the client               %s\n", r.latencies)
	atEnd, err := countOrders(ctx, dsn, warmup)
	if err != nil {
		return r, err
	}
	settled, err := settle(ctx, dsn, warmup, intakeSettleTime)
	if err != nil {
		return r, fmt.Errorf("%w%s", err, a.exited())
	}
	fmt.Printf("  its orders (warm-up included) at the end of the load: %d confirmed, %d cancelled, %d pending; all settled %.1f s later\n",
		atEnd.confirmed, atEnd.cancelled, atEnd.pending, settled.Sub(loadEnd).Seconds())
	if r.errors > 0 {
		return r, fmt.Errorf("intake: %d orders not accepted%s", r.errors, a.exited())
	}
	return r, nil
}

// placeFor runs one client per token placing orders for d.
func placeFor(a *appProcess, tokens, products []string, d time.Duration) intakeResult {
	var mu sync.Mutex
	var r intakeResult
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c, token := range tokens {
		wg.Go(func() {
			var mine latencies
			bad := 0
			for n := c; time.Now().Before(deadline); n += len(tokens) {
				start := time.Now()
				_, status, err := a.placeOrder(token, products[n%len(products)])
				if err != nil || status != http.StatusAccepted {
					bad++
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			r.latencies = append(r.latencies, mine...)
			r.errors += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	r.accepted = len(r.latencies)
	r.perSec = float64(r.accepted) / d.Seconds()
	return r
}

type orderCounts struct{ pending, confirmed, cancelled int }

// countOrders counts the orders placed since by status.
func countOrders(ctx context.Context, dsn string, since time.Time) (orderCounts, error) {
	var n orderCounts
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return n, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'confirmed'),
		count(*) FILTER (WHERE status = 'cancelled') FROM ordering.orders WHERE created_at >= $1`, since).Scan(&n.pending, &n.confirmed, &n.cancelled)
	return n, err
}

// settle waits until no order placed since is pending and returns when it
// saw that.
func settle(ctx context.Context, dsn string, since time.Time, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		n, err := countOrders(ctx, dsn, since)
		if err != nil {
			return time.Time{}, err
		}
		if n.pending == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("intake: %d orders still pending %s after the load", n.pending, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
