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

	h, err := httpBench(ctx, dsn, *concurrency, *duration)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	fmt.Printf("http GET /api/v1/products/{id}                   %8.0f req/s      (%d clients, %d errors)\n", h.perSec, *concurrency, h.errors)
	fmt.Printf("  latency                                       %s\n", h.latencies)
	return nil
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
