// Command bench measures the shop on this machine and prints figures:
// events per second through outbox -> bus -> idempotent handler and the
// commit-to-handler latency for each transport, GET /api/v1/products/{id}
// under load from this second process, and, in the same run, the physical
// reference (single-row insert transactions per second at the same
// concurrency) with the ratio the targets are stated in, and the checkout
// (placed -> confirmed) in each topology: the monolith on each transport
// and, on amqp, payments extracted into its own binary and database, with
// its throughput and p99 next to the monolith's on the same bus, and the
// data move of payments' schema (extract data): the offline copy, the online
// initial sync and the cutover's downtime, next to the raw COPY rate of the
// same rows, and what tracing costs the checkout (off against on, in the
// same run).
//
// It needs the Postgres of TEST_DATABASE_URL (fresh databases are created
// and dropped) and, for the amqp transport, RabbitMQ at AMQP_URL (a fresh
// virtual host per run, made with rabbitmqctl).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/pgtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	concurrency := flag.Int("concurrency", 16, "concurrent producers, reference writers and HTTP clients")
	events := flag.Int("events", 20000, "events per transport in the throughput run")
	duration := flag.Duration("duration", 10*time.Second, "length of the reference and HTTP load runs")
	drivers := flag.String("transports", "gochannel,amqp", "transports to measure")
	checkouts := flag.Int("checkout-clients", 32, "concurrent customers in the checkout run")
	checkoutOnly := flag.Bool("checkout-only", false, "run only the checkout measurement (for profiling with APP_DEBUG_ADDR)")
	products := flag.Int("checkout-products", 100, "products the checkout orders spread over (1: every order contends for one stock row)")
	topologies := flag.String("checkout-topologies", topoMonolith+","+topoPaymentsExtracted,
		"checkout topologies: "+topoMonolith+" (on each of -transports), "+topoPaymentsExtracted+" (on amqp)")
	rounds := flag.Int("checkout-rounds", 1, "times the checkout topologies are measured, one after the other (noisy machines)")
	payDebug := flag.String("payments-debug-addr", "", "APP_DEBUG_ADDR of the extracted payments process (pprof; APP_DEBUG_ADDR of the bench goes to cmd/app)")
	flag.StringVar(&logDir, "logs", "", "append the started processes' logs to app.log and payments.log in this folder and keep them")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	tracingOnly := flag.Bool("tracing-only", false, "run only the tracing cost measurement (the monolith's checkout on gochannel with tracing off, then on)")
	datamoveOnly := flag.Bool("datamove-only", false, "run only the data move measurement (extract data: COPY reference, offline, online and cutover)")
	datamoveRows := flag.Int("datamove-rows", 100000, "payment events in the source of the data move measurement")
	datamoveRate := flag.Int("datamove-writer-rate", 300, "payment events per second appended on the source during the online data move")
	flag.Parse()
	if *checkoutOnly && *datamoveOnly {
		fmt.Fprintln(os.Stderr, "bench: -checkout-only and -datamove-only exclude each other")
		os.Exit(2)
	}
	stopOnSignal()
	runs, err := checkoutRuns(strings.Split(*topologies, ","), strings.Split(*drivers, ","))
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx := context.Background()
	admin := pgtest.ServerURL()
	amqpURL := os.Getenv("AMQP_URL")
	if amqpURL == "" {
		amqpURL = "amqp://guest:guest@127.0.0.1:5672/"
	}
	name := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	dm := datamoveConfig{admin: admin, prefix: name, events: *datamoveRows, rate: *datamoveRate}
	if *datamoveOnly {
		fmt.Printf("shop bench — %s, %d cores\n\n", time.Now().Format(time.RFC3339), runtime.NumCPU())
		return datamoveBench(ctx, dm)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to TEST_DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	defer atExit(func() { dropDatabase(admin, name) })()
	dsn := pgtest.WithDatabase(admin, name)
	log := zap.NewNop()
	co := checkoutConfig{dsn: dsn, amqpURL: amqpURL, clients: *checkouts, products: *products,
		duration: *duration, runs: runs, rounds: max(*rounds, 1)}
	if slices.ContainsFunc(runs, func(r checkoutRun) bool { return r.topology == topoPaymentsExtracted }) {
		// payments' own database, as an extracted module has (SPEC §7)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+"_payments"); err != nil {
			return err
		}
		defer atExit(func() { dropDatabase(admin, name+"_payments") })()
		co.extracted = extractedDeployment{paymentsDSN: pgtest.WithDatabase(admin, name+"_payments"), paymentsDebugAddr: *payDebug}
	}

	fmt.Printf("shop bench — %s, %d cores, concurrency %d\n\n", time.Now().Format(time.RFC3339), runtime.NumCPU(), *concurrency)

	dir, err := os.MkdirTemp("", "shop-bench-")
	if err != nil {
		return err
	}
	defer atExit(func() { os.RemoveAll(dir) })()
	bin, err := buildApp(ctx, dir)
	if err != nil {
		return err
	}
	co.bin, co.dir = bin, dir
	if co.extracted.paymentsDSN != "" {
		if co.extracted.paymentsBin, err = buildExtracted(ctx, dir, "payments"); err != nil {
			return err
		}
	}
	if *checkoutOnly {
		return runCheckouts(ctx, co)
	}
	if *tracingOnly {
		return tracingCost(ctx, co)
	}
	ref, err := reference(ctx, dsn, *concurrency, *duration)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	fmt.Printf("reference: single-row insert transactions        %8.0f commits/s  (concurrency %d)\n", ref, *concurrency)
	ceiling, err := sqlPath(ctx, dsn, *concurrency, *events/2, log)
	if err != nil {
		return fmt.Errorf("sql path: %w", err)
	}
	fmt.Printf("sql path: an event's statements, no relay/broker  %8.0f events/s   ratio %.2f: the ceiling of the ratio below\n\n",
		ceiling, ceiling*2/ref)

	for _, d := range strings.Split(*drivers, ",") {
		if d == "amqp" {
			purgeQueue(amqpURL, "bench_consumer_amqp.record")
		}
		r, err := busBench(ctx, dsn, d, amqpURL, *concurrency, *events, log)
		if err != nil {
			return fmt.Errorf("bus %s: %w", d, err)
		}
		ratio := r.eventsPerSec * r.commitsPerEvt / ref
		fmt.Printf("bus %-9s outbox -> relay -> handler      %8.0f events/s   (%d events, %d producers, %.2f commits/event)\n",
			d, r.eventsPerSec, r.events, *concurrency, r.commitsPerEvt)
		fmt.Printf("  ratio (events/s x commits/event) / reference  %8.2f          target >= 0.5 in-process; %.0f%% of the sql path\n",
			ratio, 100*r.eventsPerSec/ceiling)
		fmt.Printf("  commit -> handler, light load                 %s   target p99 < 5 ms\n", r.latencyLight)
		fmt.Printf("  commit -> handler, under throughput load      %s\n\n", r.latencyLoaded)
	}

	mono, err := startApp(bin, dsn, dir, max(*concurrency, *checkouts))
	if err != nil {
		return fmt.Errorf("start cmd/app: %w", err)
	}
	h, err := httpBench(mono, *concurrency, *duration)
	if err != nil {
		mono.stop()
		return fmt.Errorf("http: %w", err)
	}
	fmt.Printf("http GET /api/v1/products/{id}                   %8.0f req/s      (%d clients, %d errors)\n", h.perSec, *concurrency, h.errors)
	fmt.Printf("  latency                                       %s\n\n", h.latencies)

	mono.stop()
	if err := runCheckouts(ctx, co); err != nil {
		return err
	}
	fmt.Println()
	if err := tracingCost(ctx, co); err != nil {
		return err
	}
	fmt.Println()
	return datamoveBench(ctx, dm)
}

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
// reference at the same concurrency, and compares payments extracted with
// the monolith on the same bus (amqp).
func runCheckouts(ctx context.Context, c checkoutConfig) error {
	refCheckout, err := reference(ctx, c.dsn, c.clients, c.duration)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	fmt.Printf("reference at %d clients                          %8.0f commits/s\n", c.clients, refCheckout)
	var comparisons []comparison
	for round := 1; round <= c.rounds; round++ {
		if c.rounds > 1 {
			fmt.Printf("\ncheckout round %d of %d\n", round, c.rounds)
		}
		var mono, extr *checkoutFigures
		for _, r := range c.runs {
			f, err := checkoutOnce(ctx, c, r, refCheckout)
			if err != nil {
				return err
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
	if len(comparisons) > 1 {
		fmt.Println(medianComparison(comparisons))
	}
	return nil
}

// checkoutFigures are one checkout run's figures.
type checkoutFigures struct {
	perSec float64
	p99    time.Duration // placement -> confirmed by the orders' timestamps; 0 if unknown
}

// checkoutOnce deploys r's topology, measures the checkout against its
// entry process, stops it and prints the figures.
func checkoutOnce(ctx context.Context, c checkoutConfig, r checkoutRun, refCheckout float64) (checkoutFigures, error) {
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
	res, err := checkoutBench(d.entry, c.clients, c.products, c.duration)
	d.stop()
	if err != nil {
		return checkoutFigures{}, fmt.Errorf("checkout %s on %s: %w", r.topology, r.driver, err)
	}
	fmt.Printf("checkout %-9s %-19s            %8.1f orders/s   (%d clients, %d products, %d confirmed, %d cancelled, %d errors)\n",
		r.driver, label, res.perSec, c.clients, c.products, res.confirmed, res.cancelled, res.errors)
	fmt.Printf("  ratio (orders/s x %d commits) / reference     %8.2f          target >= 0.5 in-process\n",
		CommitsPerCheckout, res.perSec*CommitsPerCheckout/refCheckout)
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
	throughput float64 // orders/s extracted / orders/s monolith
	p99        float64 // p99 extracted / p99 monolith, by the orders' timestamps
}

func compare(mono, extr checkoutFigures) comparison {
	var c comparison
	if mono.perSec > 0 {
		c.throughput = extr.perSec / mono.perSec
	}
	if mono.p99 > 0 {
		c.p99 = float64(extr.p99) / float64(mono.p99)
	}
	return c
}

func (c comparison) String() string {
	return fmt.Sprintf("payments extracted / monolith, both on amqp      throughput x%.2f  target >= 0.7;  p99 placement -> confirmed x%.2f  target <= 1.5",
		c.throughput, c.p99)
}

// medianComparison is the median of each ratio over the rounds.
func medianComparison(cs []comparison) string {
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
	m := comparison{throughput: med(func(c comparison) float64 { return c.throughput }), p99: med(func(c comparison) float64 { return c.p99 })}
	return fmt.Sprintf("median of %d rounds: ", len(cs)) + m.String()
}

// confirmationTimes reads how long each confirmed order took from its
// placement to its confirmation, by the orders' own timestamps (the
// ordering schema, read with the bench's admin connection).
func confirmationTimes(ctx context.Context, dsn string, since time.Time) (latencies, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT (extract(epoch FROM updated_at - created_at) * 1e9)::bigint FROM ordering.orders
		WHERE status = 'confirmed' AND created_at >= $1`, since)
	if err != nil {
		return nil, err
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	out := make(latencies, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n)
	}
	return out, err
}

// dropDatabase drops the database name of the server at admin, on a
// connection of its own.
func dropDatabase(admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
	}
}

// purgeQueue removes what an interrupted earlier run left in the bench queue.
func purgeQueue(url, queue string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(queue, false, false, false)
	}
}
