// Command bench measures the shop on this machine and prints figures:
// events per second through outbox -> bus -> idempotent handler and the
// commit-to-handler latency for each transport, GET /api/v1/products/{id}
// under load from this second process, and, in the same run, the physical
// reference (single-row insert transactions per second at the same
// concurrency) with the ratio the targets are stated in.
//
// It needs the Postgres of TEST_DATABASE_URL (a fresh database is created
// and dropped) and, for the amqp transport, RabbitMQ at AMQP_URL.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
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
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
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
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to TEST_DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	dsn := pgtest.WithDatabase(admin, name)
	log := zap.NewNop()

	fmt.Printf("shop bench — %s, %d cores, concurrency %d\n\n", time.Now().Format(time.RFC3339), runtime.NumCPU(), *concurrency)

	dir, err := os.MkdirTemp("", "shop-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildApp(ctx, dir)
	if err != nil {
		return err
	}
	if *checkoutOnly {
		return runCheckouts(ctx, bin, dir, dsn, strings.Split(*drivers, ","), amqpURL, *checkouts, *products, *duration)
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
	return runCheckouts(ctx, bin, dir, dsn, strings.Split(*drivers, ","), amqpURL, *checkouts, *products, *duration)
}

// runCheckouts measures the checkout on each transport with the cmd/app
// binary bin, next to the reference at the same concurrency.
func runCheckouts(ctx context.Context, bin, dir, dsn string, drivers []string, amqpURL string, clients, products int, duration time.Duration) error {
	refCheckout, err := reference(ctx, dsn, clients, duration)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	fmt.Printf("reference at %d clients                          %8.0f commits/s\n", clients, refCheckout)
	for _, d := range drivers {
		env := []string{"APP_BUS=" + d}
		if d == "amqp" {
			vhost, cleanup, err := newVHost(amqpURL)
			if err != nil {
				return err
			}
			defer cleanup()
			env = append(env, "AMQP_URL="+vhost)
		}
		a, err := startApp(bin, dsn, dir, clients, env...)
		if err != nil {
			return fmt.Errorf("start cmd/app on %s: %w", d, err)
		}
		c, err := checkoutBench(a, clients, products, duration)
		a.stop()
		if err != nil {
			return fmt.Errorf("checkout %s: %w", d, err)
		}
		fmt.Printf("checkout %-9s placed -> confirmed            %8.1f orders/s   (%d clients, %d products, %d confirmed, %d cancelled, %d errors)\n",
			d, c.perSec, clients, products, c.confirmed, c.cancelled, c.errors)
		fmt.Printf("  ratio (orders/s x %d commits) / reference     %8.2f          target >= 0.5 in-process\n",
			CommitsPerCheckout, c.perSec*CommitsPerCheckout/refCheckout)
		fmt.Printf("  placement -> confirmed, seen by clients       %s\n", c.latencies)
		if server, err := confirmationTimes(ctx, dsn, c.since); err == nil {
			fmt.Printf("  placement -> confirmed, order timestamps      %s\n", server)
		}
	}
	return nil
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
