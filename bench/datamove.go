package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/internal/datamove"
	paymentsmigrations "github.com/modmono/shop/migrations/payments"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// The data move benchmark moves payments' schema (SPEC §8, `extract data`)
// between databases of the bench's Postgres, offline and online, and
// compares the copy rates with the raw COPY rate of the same rows measured
// in the same run.

const dmModule = "payments"

// datamoveConfig is what the data move benchmark needs.
type datamoveConfig struct {
	admin  string // the server's maintenance database, as TEST_DATABASE_URL
	prefix string // of the names of the run's databases
	events int    // payment events in the source
	rate   int    // events per second the writer appends during the online move
}

// datamoveFigures are the data move benchmark's figures.
type datamoveFigures struct {
	events, rows   int64         // events, and rows of every table that moves
	reference      float64       // raw COPY, rows/s
	offlineCopy    float64       // Move's COPY phase, rows/s
	offlineWhole   float64       // the whole Move (migrations, copy, verification, records), rows/s
	onlineRows     int64         // rows in the source when StartOnline began
	onlineSync     float64       // StartOnline called -> caught up, rows/s
	onlineSyncTime time.Duration // StartOnline called -> caught up
	written        int           // events the writer appended
	writtenPerSec  float64
	downtime       time.Duration // as Cutover returns it
	stopToDone     time.Duration // writer's pool closed -> Cutover returned
}

// dmSets are payments' migrations, as `extract data payments` runs them.
func dmSets() []pgxdb.MigrationSet { return modkit.MigrationSets(paymentsmigrations.FS) }

// datamoveBench measures the data move, prints its figures, and checks that
// nothing of the run is left on the server.
func datamoveBench(ctx context.Context, c datamoveConfig) error {
	err := runDatamove(ctx, c)
	left, lerr := datamoveLeftovers(c.admin, c.prefix)
	switch {
	case lerr != nil:
		lerr = fmt.Errorf("datamove: look for leftovers: %w", lerr)
	case left != "":
		lerr = fmt.Errorf("datamove: left on the server, drop by hand: %s", left)
	case err == nil:
		fmt.Println("datamove cleanup: no database, replication slot or subscription of the run left")
	}
	return errors.Join(err, lerr)
}

// runDatamove measures the data move and prints its figures.
func runDatamove(ctx context.Context, c datamoveConfig) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	names := map[string]string{}
	for _, side := range []string{"src", "ref", "off", "on"} {
		names[side] = c.prefix + "_dm_" + side
	}
	dsn := func(side string) string { return pgtest.WithDatabase(c.admin, names[side]) }
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return fmt.Errorf("connect to TEST_DATABASE_URL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, side := range []string{"src", "ref", "off", "on"} {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+names[side]); err != nil {
			return err
		}
		defer atExit(func() { dropDatabase(c.admin, names[side]) })()
	}
	// Registered after the databases, so it runs before they are dropped,
	// on an interrupt too: stop the data move under way, then remove its
	// subscription, publication and slots (a slot left behind retains WAL
	// on the server forever, and a database with one cannot be dropped).
	var inFlight sync.WaitGroup
	defer atExit(func() {
		cancel()
		waitGroupTimeout(&inFlight, time.Minute)
		dropReplicationObjects(c.admin, names["src"], names["on"], names["off"])
	})()
	moveLog := &syncBuffer{}
	move := func(f func(context.Context) error) error {
		inFlight.Add(1)
		defer inFlight.Done()
		return f(ctx)
	}
	options := func(to string, p datamove.Progress) datamove.Options {
		// pool_max_conns bounds the pool that migrates the target: the
		// server's connections are shared.
		return datamove.Options{Module: dmModule, Sets: dmSets(), From: dsn("src"), To: dsn(to) + "&pool_max_conns=2",
			Out: moveLog, Log: moveLog, Progress: p}
	}
	withLog := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w\nthe data move's output:\n%s", err, moveLog)
	}

	if logDir != "" {
		defer func() {
			if err := appendFile(filepath.Join(logDir, "datamove.log"), moveLog.String()); err != nil {
				fmt.Fprintln(os.Stderr, "bench: datamove log:", err)
			}
		}()
	}
	var f datamoveFigures
	started := time.Now()
	if f.events, f.rows, err = fillPayments(ctx, dsn("src"), c.events); err != nil {
		return fmt.Errorf("fill the source: %w", err)
	}
	fmt.Printf("datamove source: payments' schema, %d events, %d rows in all its tables (filled with COPY in %.1fs)\n",
		f.events, f.rows, time.Since(started).Seconds())

	const refRounds = 3
	if f.reference, err = copyReference(ctx, dsn("src"), dsn("ref"), refRounds); err != nil {
		return fmt.Errorf("COPY reference: %w", err)
	}
	fmt.Printf("datamove COPY reference                          %8.0f rows/s     (COPY TO piped into COPY FROM, plain pgx, no verification; median of %d)\n",
		f.reference, refRounds)

	// Offline: the module is stopped on the source (the fill's pool is closed).
	if err := waitRoleGone(ctx, dsn("src"), dmModule); err != nil {
		return err
	}
	var copied copyTimer
	started = time.Now()
	if err := move(func(ctx context.Context) error { return datamove.Move(ctx, options("off", &copied)) }); err != nil {
		return fmt.Errorf("offline move: %w", withLog(err))
	}
	whole := time.Since(started)
	f.offlineCopy = float64(copied.rows) / max(copied.elapsed.Seconds(), 1e-9)
	f.offlineWhole = float64(f.rows) / whole.Seconds()
	fmt.Printf("datamove offline copy (Move)                     %8.0f rows/s     ratio x%.2f of COPY;  whole Move with migrations and verification %.0f rows/s, x%.2f\n",
		f.offlineCopy, f.offlineCopy/f.reference, f.offlineWhole, f.offlineWhole/f.reference)

	// Online: the module keeps writing on the source while the replication
	// starts, then stops there for the cutover. It needs logical
	// replication: on a server without it, say so and measure the rest.
	var walLevel string
	if err := conn.QueryRow(ctx, `SHOW wal_level`).Scan(&walLevel); err != nil {
		return err
	}
	if walLevel != "logical" {
		fmt.Printf("datamove online move: skipped: the server's wal_level is %s, the online move needs logical (make services sets it)\n", walLevel)
		return nil
	}
	w, err := startPaymentsWriter(ctx, dsn("src"), c.rate)
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	defer w.stop()
	time.Sleep(500 * time.Millisecond) // the writer is under way
	if f.onlineRows, err = countRows(ctx, dsn("src")); err != nil {
		return err
	}
	started = time.Now()
	if err := move(func(ctx context.Context) error {
		return datamove.StartOnline(ctx, options("on", nil))
	}); err != nil {
		return fmt.Errorf("online move: %w", withLog(err))
	}
	f.onlineSyncTime = time.Since(started)
	f.onlineSync = float64(f.onlineRows) / f.onlineSyncTime.Seconds()
	time.Sleep(time.Second) // the writer's events flow through the running replication
	if err := w.stop(); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	stopped := time.Now()
	f.written, f.writtenPerSec = w.written, w.perSec()
	if err := move(func(ctx context.Context) error {
		var err error
		f.downtime, err = datamove.Cutover(ctx, options("on", nil))
		return err
	}); err != nil {
		return fmt.Errorf("cutover: %w", withLog(err))
	}
	f.stopToDone = time.Since(stopped)
	fmt.Printf("datamove online initial sync (StartOnline)       %8.0f rows/s     ratio x%.2f of COPY;  %d rows caught up in %.2fs, writer at %.0f events/s\n",
		f.onlineSync, f.onlineSync/f.reference, f.onlineRows, f.onlineSyncTime.Seconds(), f.writtenPerSec)
	fmt.Printf("datamove cutover downtime                        %8.0f ms         target < 2 s;  writer stopped -> Cutover returned %.0f ms, %d events written during the move\n",
		float64(f.downtime)/float64(time.Millisecond), float64(f.stopToDone)/float64(time.Millisecond), f.written)
	return nil
}

// datamoveLeftovers lists what of the run's databases (named prefix_dm_*)
// is still on the server: databases, replication slots, subscriptions.
func datamoveLeftovers(admin, prefix string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var left []string
	err = conn.QueryRow(ctx, `SELECT array(
		SELECT 'database ' || datname FROM pg_database WHERE starts_with(datname, $1)
		UNION ALL SELECT 'replication slot ' || slot_name FROM pg_replication_slots WHERE starts_with(database, $1)
		UNION ALL SELECT 'subscription ' || s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE starts_with(d.datname, $1))`,
		prefix+"_dm_").Scan(&left)
	if err != nil {
		return "", err
	}
	if len(left) == 0 {
		return "", nil
	}
	return fmt.Sprint(left), nil
}

// fillPayments creates payments' schema in dsn by its migrations and fills
// it with COPY, as the module's role: events payment events in streams of
// one to four events (initiated, authorized, captured, some refunded; some
// failed; some cancelled before any charge), a payment_orders row per
// stream, snapshots of some streams, an outbox row per tenth event and a few
// inbox rows and dead letters. It returns the events and the rows of every
// table, and leaves no session of the module's role behind.
func fillPayments(ctx context.Context, dsn string, events int) (int64, int64, error) {
	db, err := pgxdb.Open(ctx, dsn+"&pool_max_conns=2", dmModule, dmSets(), nil)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var evRows, orderRows, snapRows, outboxRows [][]any
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	ref := func() string { return fmt.Sprintf("ch_%016x", rnd.Uint64()) }
	reasons := []string{"card_declined", "insufficient_funds", "expired_card", "provider_timeout"}
	for len(evRows) < events {
		stream, order, customer := uuid.New(), uuid.New(), uuid.New()
		amount := int64(500 + rnd.IntN(50000))
		type ev struct {
			typ     string
			version int
			data    any
		}
		initiated := ev{"payment.initiated", 1, map[string]any{"payment_id": stream, "order_id": order, "customer_id": customer, "amount": amount, "currency": "EUR"}}
		var evs []ev
		var cust any = customer
		switch n := rnd.IntN(20); {
		case n == 0:
			evs = []ev{{"payment.cancelled", 1, map[string]any{"payment_id": stream, "order_id": order, "reason": "order cancelled by the customer"}}}
			cust = nil
		case n < 3:
			evs = []ev{initiated, {"payment.failed", 1, map[string]any{"reason": reasons[rnd.IntN(len(reasons))], "stage": "authorize"}}}
		default:
			r := ref()
			evs = []ev{initiated,
				{"payment.authorized", 2, map[string]any{"provider_ref": r, "method": "card"}},
				{"payment.captured", 1, map[string]any{"provider_ref": r, "amount": amount}}}
			if n < 5 {
				evs = append(evs, ev{"payment.refunded", 1, map[string]any{"provider_ref": r, "amount": amount, "reason": "returned by the customer"}})
			}
		}
		for i, e := range evs {
			at = at.Add(time.Duration(rnd.IntN(2000)) * time.Millisecond)
			evRows = append(evRows, []any{stream, i + 1, e.typ, e.version, js(e.data), at})
			if len(evRows)%10 == 0 {
				envelope := map[string]any{"id": uuid.New(), "type": e.typ, "version": e.version, "aggregate_id": stream,
					"occurred_at": at, "payload": e.data}
				outboxRows = append(outboxRows, []any{uuid.New(), e.typ + ".v1", int16(rnd.IntN(16)), js(envelope), at})
			}
		}
		orderRows = append(orderRows, []any{order, stream, cust})
		if len(evs) >= 3 && rnd.IntN(4) == 0 {
			state := map[string]any{"id": stream, "order_id": order, "customer_id": customer, "amount": amount, "currency": "EUR", "status": "captured"}
			snapRows = append(snapRows, []any{stream, len(evs), 1, js(state), at})
		}
	}
	evRows = evRows[:events] // the last stream may end early
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"events", []string{"stream_id", "version", "type", "schema_version", "data", "occurred_at"}, evRows},
			{"payment_orders", []string{"order_id", "payment_id", "customer_id"}, orderRows},
			{"snapshots", []string{"stream_id", "version", "schema_version", "state", "taken_at"}, snapRows},
			{"outbox", []string{"id", "topic", "partition", "envelope", "created_at"}, outboxRows},
		} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("COPY %s: %w", c.table, err)
			}
		}
		for _, q := range []string{
			`INSERT INTO inbox (handler, message_id) SELECT 'payments.order_placed', gen_random_uuid() FROM generate_series(1, 200)`,
			`INSERT INTO dead_letters (id, handler, topic, message_id, body, error, attempts)
			 SELECT gen_random_uuid(), 'payments.order_placed', 'ordering.order_placed.v1', gen_random_uuid(),
			        convert_to('{"order_id": "' || gen_random_uuid() || '"}', 'UTF8'), 'provider unavailable', 5
			 FROM generate_series(1, 3)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	db.Close()
	// Every reader below finds the rows in the same state (hint bits set,
	// statistics fresh).
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, `VACUUM (ANALYZE) payments.events, payments.payment_orders, payments.snapshots, payments.outbox, payments.inbox, payments.dead_letters`); err != nil {
		return 0, 0, err
	}
	rows, err := countRows(ctx, dsn)
	return int64(len(evRows)), rows, err
}

// movedTables lists payments' tables that a move copies: every table of its
// schema but the migrations' version tables.
func movedTables(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	var skip []string
	for _, s := range dmSets() {
		skip = append(skip, s.VersionTable)
	}
	rows, err := conn.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT (c.relname = ANY ($2)) ORDER BY 1`, dmModule, skip)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// countRows counts the rows of every table that moves in dsn.
func countRows(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ts, err := movedTables(ctx, conn)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range ts {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{dmModule, t}.Sanitize()).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// copyReference is the physical ceiling of a move's copy: the rows of every
// table that moves, streamed by COPY TO on the source straight into COPY
// FROM into the identical empty tables (made by the same migrations) of
// another database, with plain pgx and nothing else, in one target
// transaction whose commit is not timed (as Move's copy phase); in rows/s,
// the median of rounds copies (emptied in between), since the server's load
// varies.
func copyReference(ctx context.Context, srcDSN, refDSN string, rounds int) (float64, error) {
	db, err := pgxdb.Open(ctx, refDSN+"&pool_max_conns=1", dmModule, dmSets(), nil)
	if err != nil {
		return 0, err
	}
	db.Close()
	src, err := pgx.Connect(ctx, srcDSN)
	if err != nil {
		return 0, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := pgx.Connect(ctx, refDSN)
	if err != nil {
		return 0, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	ts, err := movedTables(ctx, src)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = pgx.Identifier{dmModule, t}.Sanitize()
	}
	var rates []float64
	for round := range rounds {
		if round > 0 {
			// The events table refuses TRUNCATE by a trigger of its own.
			for _, q := range []string{"ALTER TABLE payments.events DISABLE TRIGGER USER", "TRUNCATE " + strings.Join(names, ", "),
				"ALTER TABLE payments.events ENABLE TRIGGER USER"} {
				if _, err := dst.Exec(ctx, q); err != nil {
					return 0, err
				}
			}
		}
		// One target transaction, its commit left out of the time, as Move
		// copies (its copy phase is the tables' copies alone).
		if _, err := dst.Exec(ctx, "BEGIN"); err != nil {
			return 0, err
		}
		var rows int64
		started := time.Now()
		for _, name := range names {
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				_, err := src.PgConn().CopyTo(ctx, pw, "COPY "+name+" TO STDOUT")
				pw.CloseWithError(err)
				done <- err
			}()
			tag, err := dst.PgConn().CopyFrom(ctx, pr, "COPY "+name+" FROM STDIN")
			pr.CloseWithError(errors.New("COPY FROM ended"))
			if err := errors.Join(<-done, err); err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			rows += tag.RowsAffected()
		}
		rates = append(rates, float64(rows)/time.Since(started).Seconds())
		if _, err := dst.Exec(ctx, "COMMIT"); err != nil {
			return 0, err
		}
	}
	slices.Sort(rates)
	return rates[len(rates)/2], nil
}

// copyTimer is a datamove.Progress that adds up the rows and times of the
// tables' copies: the COPY phase of a Move alone.
type copyTimer struct {
	mu      sync.Mutex
	rows    int64
	elapsed time.Duration
}

func (c *copyTimer) Start(string, int64) datamove.TableProgress { return c }
func (c *copyTimer) Add(int64)                                  {}
func (c *copyTimer) Done(rows int64, elapsed time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows += rows
	c.elapsed += elapsed
}

// paymentsWriter appends payment events as the module's role, at a steady
// rate, each with its outbox row in one transaction as the module does.
type paymentsWriter struct {
	db      *pgxdb.DB
	done    chan struct{}
	err     chan error
	once    sync.Once
	stopErr error
	started time.Time
	elapsed time.Duration
	written int
}

func startPaymentsWriter(ctx context.Context, dsn string, rate int) (*paymentsWriter, error) {
	db, err := pgxdb.Open(ctx, dsn+"&pool_max_conns=2", dmModule, dmSets(), nil)
	if err != nil {
		return nil, err
	}
	w := &paymentsWriter{db: db, done: make(chan struct{}), err: make(chan error, 1), started: time.Now()}
	go func() { w.err <- w.run(ctx, max(rate, 1)) }()
	return w, nil
}

// run appends an event per tick to one of eight payments in progress, each
// going initiated (with its payment_orders row) -> authorized -> captured,
// then replaced by a new one.
func (w *paymentsWriter) run(ctx context.Context, rate int) error {
	type payment struct {
		id, order uuid.UUID
		version   int
	}
	var live [8]payment
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for n := 0; ; n++ {
		// The n-th event is due at start + n*interval: a writer that fell
		// behind catches up without waiting.
		wait := time.NewTimer(time.Until(start.Add(time.Duration(n) * interval)))
		select {
		case <-w.done:
			wait.Stop()
			return nil
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case <-wait.C:
		}
		p := &live[n%len(live)]
		if p.version == 0 || p.version == 3 {
			*p = payment{id: uuid.New(), order: uuid.New()}
		}
		p.version++
		typ, data := "payment.initiated", map[string]any{"payment_id": p.id, "order_id": p.order, "customer_id": uuid.New(), "amount": 1999 + n%1000, "currency": "EUR"}
		switch p.version {
		case 2:
			typ, data = "payment.authorized", map[string]any{"provider_ref": "ch_live_" + p.id.String()[:8], "method": "card"}
		case 3:
			typ, data = "payment.captured", map[string]any{"provider_ref": "ch_live_" + p.id.String()[:8], "amount": 1999}
		}
		body, _ := json.Marshal(data)
		err := w.db.Tx(ctx, func(tx pgx.Tx) error {
			if p.version == 1 {
				if _, err := tx.Exec(ctx, `INSERT INTO payment_orders (order_id, payment_id, customer_id) VALUES ($1, $2, $3)`, p.order, p.id, uuid.New()); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO events (stream_id, version, type, schema_version, data, occurred_at) VALUES ($1, $2, $3, 1, $4, now())`,
				p.id, p.version, typ, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, partition, envelope) VALUES ($1, $2, $3, $4)`,
				uuid.New(), typ+".v1", int16(n%16), fmt.Sprintf(`{"type": %q, "aggregate_id": %q, "payload": %s}`, typ, p.id, body))
			return err
		})
		if err != nil {
			return err
		}
		w.written++
	}
}

// stop stops the writer and closes its pool: no session of the module's
// role is left on the source. It returns the writer's error, if any.
func (w *paymentsWriter) stop() error {
	w.once.Do(func() {
		close(w.done)
		w.stopErr = <-w.err
		w.elapsed = time.Since(w.started)
		w.db.Close()
	})
	return w.stopErr
}

func (w *paymentsWriter) perSec() float64 { return float64(w.written) / w.elapsed.Seconds() }

// waitRoleGone waits up to 10 s until role has no session on dsn's
// database: a closed pool's sessions end a moment after it.
func waitRoleGone(ctx context.Context, dsn, module string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	role, err := pgxdb.ModuleRole(ctx, conn, module)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()`, role).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d session(s) of %s still on the source", n, role)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dropReplicationObjects removes what an online move may have left: the
// subscriptions of the targets, then the publications and every
// replication slot of the source database (the subscription's and its
// table synchronisation workers'), waiting for their senders to stop.
func dropReplicationObjects(admin, source string, targets ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	warn := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: datamove cleanup: %s: %v\n", what, err)
		}
	}
	for _, db := range targets {
		conn, err := pgx.Connect(ctx, pgtest.WithDatabase(admin, db))
		if err != nil {
			continue // not created, or already dropped
		}
		rows, _ := conn.Query(ctx, `SELECT subname::text FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
		subs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		warn("list subscriptions of "+db, err)
		for _, s := range subs {
			n := pgx.Identifier{s}.Sanitize()
			for _, q := range []string{`ALTER SUBSCRIPTION ` + n + ` DISABLE`, `ALTER SUBSCRIPTION ` + n + ` SET (slot_name = NONE)`, `DROP SUBSCRIPTION ` + n} {
				_, err := conn.Exec(ctx, q)
				warn(q+" in "+db, err)
			}
		}
		conn.Close(ctx)
	}
	conn, err := pgx.Connect(ctx, pgtest.WithDatabase(admin, source))
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT pubname::text FROM pg_publication`)
	pubs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	warn("list publications", err)
	for _, p := range pubs {
		_, err := conn.Exec(ctx, `DROP PUBLICATION `+pgx.Identifier{p}.Sanitize())
		warn("drop publication "+p, err)
	}
	for started := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		var left int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE database = current_database()`).Scan(&left)
		if err != nil || left == 0 {
			warn("list replication slots", err)
			return
		}
		if time.Since(started) > 50*time.Second {
			warn("drop replication slots", fmt.Errorf("%d left in %s: drop them by hand, they retain WAL", left, source))
			return
		}
		if time.Since(started) > 20*time.Second {
			// A sender that does not stop by itself is ended.
			_, err := conn.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = current_database() AND active`)
			warn("end the senders of the slots", err)
		}
		// A slot that turned active meanwhile fails the drop: the next round retries.
		_, _ = conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active`)
	}
}

func appendFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

// waitGroupTimeout waits for wg, at most d.
func waitGroupTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// syncBuffer collects the data move's output, each write (a line) stamped
// with its time; safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(time.Now().Format("15:04:05.000 "))
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
