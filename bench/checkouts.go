package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// checkoutConfig is what the checkout runs need.
type checkoutConfig struct {
	bin, dir, dsn     string // cmd/app, its data folder, the (monolith's) database
	extracted         extractedDeployment
	amqpURL           string
	clients, products int
	duration          time.Duration
	runs              []checkoutRun
	rounds            int
}

// runCheckouts measures the checkout in each of c's runs, next to the
// reference at the same concurrency (measured first), compares payments extracted with the
// monolith on the same bus (amqp), and measures the monolith again with
// one product for all orders. The targets take the monolith on gochannel
// (else on the first transport measured), the medians of the rounds.
func runCheckouts(ctx context.Context, c checkoutConfig) error {
	refs := newReferences(ctx, c.dsn, c.duration)
	ref, err := refs.get(c.clients)
	if err != nil {
		return err
	}
	targetRun := -1
	for i, r := range c.runs {
		if r.topology == topoMonolith && (targetRun < 0 || r.driver == "gochannel") {
			targetRun = i
		}
	}
	var comparisons []comparison
	var many []float64 // the target run's orders/s, per round
	for round := 1; round <= c.rounds; round++ {
		if c.rounds > 1 {
			fmt.Printf("\ncheckout round %d of %d\n", round, c.rounds)
		}
		var mono, extr *checkoutFigures
		for i, r := range c.runs {
			f, err := checkoutOnce(ctx, c, r, c.products, ref)
			if err != nil {
				return err
			}
			if i == targetRun {
				many = append(many, f.perSec)
			}
			switch {
			case r.topology == topoMonolith && r.driver == "amqp":
				mono = &f
			case r.topology == topoPaymentsExtracted:
				extr = &f
			}
		}
		switch {
		case mono != nil && extr != nil:
			cmp := compare(*mono, *extr)
			comparisons = append(comparisons, cmp)
			fmt.Println(cmp)
		case extr != nil:
			fmt.Println("payments extracted / monolith: no ratios, the monolith was not measured on amqp (-checkout-topologies, -transports)")
		}
	}
	if len(comparisons) > 0 {
		m := comparisons[0]
		if len(comparisons) > 1 {
			m = medianComparison(comparisons)
			fmt.Printf("median of %d rounds: %s\n", len(comparisons), m)
		}
		value, reference := fmt.Sprintf("%.1f orders/s", m.extr.perSec), fmt.Sprintf("monolith on amqp: %.1f orders/s", m.mono.perSec)
		p99, p99Ref := fmt.Sprintf("p99 %s", ms(m.extr.p99)), fmt.Sprintf("monolith on amqp: p99 %s", ms(m.mono.p99))
		if len(comparisons) > 1 {
			value, reference, p99, p99Ref = "median of rounds", "monolith on amqp", "median of rounds", "monolith on amqp"
		}
		recordRatio("payments extracted / monolith, throughput", value, reference, m.throughput, 1, extractedThroughputTarget, 0)
		recordRatio("payments extracted / monolith, p99 placed -> confirmed", p99, p99Ref, m.p99, 1, 0, extractedP99Target)
	}
	if targetRun < 0 {
		return nil
	}
	r := c.runs[targetRun]
	perSec := median(many)
	label := fmt.Sprintf("checkout %s, %d clients, %d products", r.driver, c.clients, c.products)
	recordRatio(label, fmt.Sprintf("%.1f orders/s", perSec), refs.label(c.clients), perSec, ref, checkoutRatioTarget, 0)
	if c.products == 1 {
		return nil
	}
	one, err := checkoutOnce(ctx, c, r, 1, ref)
	if err != nil {
		return err
	}
	fmt.Printf("  ratio one product / %d products               %8.3f          target >= %.2f\n", c.products, one.perSec/perSec, oneProductTarget)
	recordRatio(fmt.Sprintf("checkout %s, %d clients, one product", r.driver, c.clients), fmt.Sprintf("%.1f orders/s", one.perSec),
		fmt.Sprintf("%d products: %.1f orders/s", c.products, perSec), one.perSec, perSec, oneProductTarget, 0)
	return nil
}

// checkoutFigures are one checkout run's figures.
type checkoutFigures struct {
	perSec float64
	p99    time.Duration // placement -> confirmed by the orders' timestamps; 0 if unknown
}

// checkoutOnce deploys r's topology, measures the checkout against its
// entry process, stops it and prints the figures.
func checkoutOnce(ctx context.Context, c checkoutConfig, r checkoutRun, products int, ref float64) (checkoutFigures, error) {
	var vhost string
	if r.driver == "amqp" {
		v, cleanup, err := newVHost(c.amqpURL)
		if err != nil {
			return checkoutFigures{}, err
		}
		defer atExit(cleanup)()
		vhost = v
	}
	var d *deployment
	var err error
	label := "placed -> confirmed"
	switch r.topology {
	case topoMonolith:
		env := []string{"APP_BUS=" + r.driver}
		if vhost != "" {
			env = append(env, "AMQP_URL="+vhost)
		}
		var a *appProcess
		if a, err = startApp(c.bin, c.dsn, c.dir, c.clients, env...); err == nil {
			d = &deployment{entry: a, procs: []*appProcess{a}}
		}
	case topoPaymentsExtracted:
		label = "payments extracted"
		d, err = startPaymentsExtracted(c.bin, c.dsn, c.dir, c.clients, vhost, c.extracted)
	}
	if err != nil {
		return checkoutFigures{}, fmt.Errorf("start %s on %s: %w", r.topology, r.driver, err)
	}
	res, err := checkoutBench(d.entry, c.clients, products, c.duration)
	d.stop()
	if err != nil {
		return checkoutFigures{}, fmt.Errorf("checkout %s on %s: %w", r.topology, r.driver, err)
	}
	fmt.Printf("checkout %-9s %-19s            %8.1f orders/s   (%d clients, %s, %d confirmed, %d cancelled, %d errors)\n",
		r.driver, label, res.perSec, c.clients, plural(products, "product"), res.confirmed, res.cancelled, res.errors)
	fmt.Printf("  ratio orders/s / reference at %d clients      %8.3f          target >= %.2f\n",
		c.clients, res.perSec/ref, checkoutRatioTarget)
	fmt.Printf("  placement -> confirmed, seen by clients       %s\n", res.latencies)
	f := checkoutFigures{perSec: res.perSec}
	// The orders live in the monolith's database: ordering runs there.
	if server, err := confirmationTimes(ctx, c.dsn, res.since); err == nil {
		fmt.Printf("  placement -> confirmed, order timestamps      %s\n", server)
		f.p99 = server.percentile(99)
	} else {
		fmt.Printf("  placement -> confirmed, order timestamps      unknown: %v\n", err)
	}
	if res.cancelled > 0 {
		if reasons, err := cancelReasons(ctx, c.dsn, res.since); err == nil {
			for _, r := range reasons {
				fmt.Printf("  cancelled: %5d x %s\n", r.n, r.reason)
			}
		}
	}
	return f, nil
}

type cancelReason struct {
	reason string
	n      int
}

// cancelReasons reads the most frequent failure reasons of the orders
// cancelled since.
func cancelReasons(ctx context.Context, dsn string, since time.Time) ([]cancelReason, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT coalesce(failure_reason, ''), count(*) FROM ordering.orders
		WHERE status = 'cancelled' AND created_at >= $1 GROUP BY 1 ORDER BY 2 DESC LIMIT 3`, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (cancelReason, error) {
		var r cancelReason
		err := row.Scan(&r.reason, &r.n)
		return r, err
	})
}

// comparison is payments extracted against the monolith, both on amqp.
type comparison struct {
	mono, extr checkoutFigures
	throughput float64 // orders/s extracted / orders/s monolith
	p99        float64 // p99 extracted / p99 monolith, by the orders' timestamps
}

func compare(mono, extr checkoutFigures) comparison {
	c := comparison{mono: mono, extr: extr}
	if mono.perSec > 0 {
		c.throughput = extr.perSec / mono.perSec
	}
	if mono.p99 > 0 {
		c.p99 = float64(extr.p99) / float64(mono.p99)
	}
	return c
}

// Extraction targets of issue 11: payments extracted against the monolith.
const (
	extractedThroughputTarget = 0.7
	extractedP99Target        = 1.5
)

func (c comparison) String() string {
	return fmt.Sprintf("payments extracted / monolith, both on amqp      throughput x%.2f  target >= %.1f;  p99 placement -> confirmed x%.2f  target <= %.1f",
		c.throughput, extractedThroughputTarget, c.p99, extractedP99Target)
}

// medianComparison is the median of each ratio over the rounds (without
// the figures they divide).
func medianComparison(cs []comparison) comparison {
	med := func(f func(comparison) float64) float64 {
		v := make([]float64, len(cs))
		for i, c := range cs {
			v[i] = f(c)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return comparison{throughput: med(func(c comparison) float64 { return c.throughput }), p99: med(func(c comparison) float64 { return c.p99 })}
}

// plural writes n things, as "1 product" or "100 products".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
