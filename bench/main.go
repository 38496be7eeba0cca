// Command bench measures the shop on this machine and prints figures, with
// the ratio and target of each of the performance targets (issue 11) and a
// summary table of them at the end. Every ratio divides by a reference
// measured in the same run, right before the section's load: single-row
// insert transactions per second against the same Postgres at the same
// concurrency. It measures, in order: events per second through outbox -> bus -> idempotent
// handler and the commit-to-handler latency for each transport;
// GET /api/v1/products/{id} under load from this second process; cmd/app's
// start time and idle RSS; the latency of one order alone (placed ->
// confirmed); the intake (POST /orders -> 202 while the sagas run); the
// checkout (placed -> confirmed) in each topology: the monolith on each
// transport and, on amqp, payments extracted into its own binary and
// database, with its throughput and p99 next to the monolith's on the same
// bus, and with every order on one product; what tracing costs the
// checkout (off against on, in the same run); and the data move of
// payments' schema (extract data): the offline copy, the online initial
// sync and the cutover's downtime, next to the raw COPY rate of the same
// rows.
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
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/pgtest"
)

func main() {
	began := time.Now()
	err := run()
	printSummary() // of what was measured, a failure later in the run too
	fmt.Printf("\nthe bench took %s\n", time.Since(began).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const usageText = `Usage: go run ./bench [flags]   (make bench runs it with no flag)

Measures the shop on this machine and prints figures; every performance target
(issue 11) is printed with its ratio to the reference it names (single-row insert
transactions per second at the same concurrency, measured in the same run right
before the section's load) and its target, then a summary table of them. See docs/benchmarks.md.
By default every section runs, in this order: bus, GET product,
footprint, latency of one order alone, intake, checkout, tracing cost, data move.
One -*-only flag runs a single section.

Flags:
`

func run() error {
	concurrency := flag.Int("concurrency", 16, "concurrent producers, reference writers and HTTP clients of the bus and GET product sections")
	events := flag.Int("events", 20000, "events per transport in the throughput run")
	duration := flag.Duration("duration", 10*time.Second, "length of each reference, HTTP, intake and checkout load run")
	drivers := flag.String("transports", "gochannel,amqp", "transports to measure")
	checkouts := flag.Int("checkout-clients", 32, "concurrent customers in the checkout run")
	checkoutOnly := flag.Bool("checkout-only", false, "run only the checkout: the reference at -checkout-clients, the topologies, then the monolith with one product (for profiling with APP_DEBUG_ADDR)")
	products := flag.Int("checkout-products", 100, "products the checkout orders spread over; a run with one product for all orders (every order contends for one stock row) follows unless this is 1")
	topologies := flag.String("checkout-topologies", topoMonolith+","+topoPaymentsExtracted,
		"checkout topologies: "+topoMonolith+" (on each of -transports), "+topoPaymentsExtracted+" (on amqp)")
	rounds := flag.Int("checkout-rounds", 1, "times the checkout topologies are measured, one after the other (noisy machines); the summary takes the medians")
	payDebug := flag.String("payments-debug-addr", "", "APP_DEBUG_ADDR of the extracted payments process (pprof; APP_DEBUG_ADDR of the bench goes to cmd/app)")
	flag.StringVar(&logDir, "logs", "", "append the started processes' logs to app.log and payments.log in this folder and keep them")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	intakeOnly := flag.Bool("intake-only", false, "run only the intake: POST /orders -> 202 at a single client and at each of -intake-clients, next to the reference at each")
	intakeList := flag.String("intake-clients", "8,32", "concurrent clients of the intake runs (a single-client run always comes first)")
	latencyOnly := flag.Bool("latency-only", false, "run only the latency of one order alone (placed -> confirmed by the orders' timestamps)")
	footprintOnly := flag.Bool("footprint-only", false, "run only the footprint: cmd/app's start time (exec -> ready) and idle RSS")
	tracingOnly := flag.Bool("tracing-only", false, "run only the tracing cost measurement (the monolith's checkout on gochannel with tracing off, then on)")
	datamoveOnly := flag.Bool("datamove-only", false, "run only the data move measurement (extract data: COPY reference, offline, online and cutover)")
	datamoveRows := flag.Int("datamove-rows", 100000, "payment events in the source of the data move measurement")
	datamoveRate := flag.Int("datamove-writer-rate", 300, "payment events per second appended on the source during the online data move")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usageText)
		flag.PrintDefaults()
	}
	flag.Parse()
	only := 0
	for _, set := range []bool{*checkoutOnly, *intakeOnly, *latencyOnly, *footprintOnly, *tracingOnly, *datamoveOnly} {
		if set {
			only++
		}
	}
	if only > 1 {
		fmt.Fprintln(os.Stderr, "bench: the -*-only flags exclude each other")
		os.Exit(2)
	}
	intakeClients, err := positiveInts(*intakeList)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -intake-clients:", err)
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
	withExtracted := slices.ContainsFunc(runs, func(r checkoutRun) bool { return r.topology == topoPaymentsExtracted })
	if withExtracted && (only == 0 || *checkoutOnly) {
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
	oc := orderingConfig{checkoutConfig: co, intakeClients: intakeClients, intake: true, alone: true}
	switch {
	case *checkoutOnly:
		return runCheckouts(ctx, co)
	case *tracingOnly:
		return tracingCost(ctx, co)
	case *footprintOnly:
		return footprintBench(co)
	case *intakeOnly:
		oc.alone = false
		return orderingBench(ctx, oc)
	case *latencyOnly:
		oc.intake = false
		return orderingBench(ctx, oc)
	}

	ref, err := reference(ctx, dsn, *concurrency, *duration)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	fmt.Printf("reference: single-row insert transactions        %8.0f commits/s  (%d clients)\n", ref, *concurrency)
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
		fmt.Printf("  commit -> handler, light load                 %s   target p99 < %s\n", r.latencyLight, short(lightP99Target))
		fmt.Printf("  commit -> handler, under throughput load      %s\n\n", r.latencyLoaded)
		if d == "gochannel" {
			p99 := r.latencyLight.percentile(99)
			recordBelow("commit -> in-process handler, light load p99", fmt.Sprintf("p99 %s (p50 %s)", ms(p99), ms(r.latencyLight.percentile(50))),
				p99, lightP99Target, false)
		}
	}

	mono, err := startApp(bin, dsn, dir, *concurrency)
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

	if err := footprintBench(co); err != nil {
		return fmt.Errorf("footprint: %w", err)
	}
	if err := orderingBench(ctx, oc); err != nil {
		return err
	}
	fmt.Println()
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

// positiveInts parses a comma-separated list of whole numbers of at least 1.
func positiveInts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a whole number of at least 1", f)
		}
		out = append(out, n)
	}
	return out, nil
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
