package datamove_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/internal/datamove"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

const module = "payments"

func definition(t *testing.T, name string) modkit.Definition {
	t.Helper()
	for _, d := range modules.All {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no module %s", name)
	return modkit.Definition{}
}

// small keeps the test's pools tiny: the server is shared.
func small(dsn string) string { return dsn + "&pool_max_conns=2" }

// openModule bootstraps and migrates the module in dsn and returns a pool
// connected as the module's role.
func openModule(t *testing.T, dsn string) *pgxdb.DB {
	t.Helper()
	db, err := pgxdb.Open(t.Context(), small(dsn), module, definition(t, module).MigrationSets(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// fill writes n rows into events and outbox and a few into every other
// table of payments, as the module's role.
func fill(t *testing.T, db *pgxdb.DB, n int) {
	t.Helper()
	stmts := []string{
		`INSERT INTO events (stream_id, version, type, schema_version, data, occurred_at)
		 SELECT gen_random_uuid(), 1, 'PaymentCaptured', 1,
		        jsonb_build_object('amount', i, 'note', 'caf\u00e9 "quoted"' || E'\n' || i, 'at', now(), 'f', i / 7.0),
		        timestamptz '2026-01-01 12:00:00+02' + i * interval '1 second'
		 FROM generate_series(1, $1) i`,
		`INSERT INTO outbox (id, topic, partition, envelope)
		 SELECT gen_random_uuid(), 'payments.payment_captured.v1', i % 16, jsonb_build_object('id', i, 'payload', jsonb_build_object('x', i))
		 FROM generate_series(1, $1) i`,
		`INSERT INTO snapshots SELECT gen_random_uuid(), 2, 1, jsonb_build_object('s', i), now() FROM generate_series(1, 10) i WHERE $1 > 0`,
		`INSERT INTO payment_orders SELECT gen_random_uuid(), gen_random_uuid(), CASE WHEN i % 2 = 0 THEN gen_random_uuid() END FROM generate_series(1, 10) i WHERE $1 > 0`,
		`INSERT INTO inbox (handler, message_id) SELECT 'h', gen_random_uuid() FROM generate_series(1, 10) i WHERE $1 > 0`,
		`INSERT INTO dead_letters (id, handler, topic, message_id, body, error, attempts)
		 SELECT gen_random_uuid(), 'h', 't', gen_random_uuid(), '\x00ff0a'::bytea, 'boom', 3 FROM generate_series(1, 3) i WHERE $1 > 0`,
	}
	for _, s := range stmts {
		if _, err := db.Pool.Exec(t.Context(), s, n); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// state describes everything in a database that a move could touch: its
// schemas, the content of every table outside the catalogs (by an
// independent digest), publications, subscriptions and slots of it.
func state(t *testing.T, dsn string) string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var b strings.Builder
	rows, _ := conn.Query(ctx, `SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 1, 2`)
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([3]string, error) {
		var n [3]string
		return n, r.Scan(&n[0], &n[1], &n[2])
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var digest string
		q := fmt.Sprintf(`SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM %s x`,
			pgx.Identifier{n[0], n[1]}.Sanitize())
		if n[2] == "S" {
			q = fmt.Sprintf(`SELECT last_value || ' ' || is_called FROM %s`, pgx.Identifier{n[0], n[1]}.Sanitize())
		}
		if err := conn.QueryRow(ctx, q).Scan(&digest); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s.%s %s\n", n[0], n[1], digest)
	}
	var extra string
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM pg_publication) || ' publications, ' ||
		(SELECT count(*) FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())) || ' subscriptions, ' ||
		(SELECT count(*) FROM pg_replication_slots WHERE database = current_database()) || ' slots'`).Scan(&extra); err != nil {
		t.Fatal(err)
	}
	b.WriteString(extra)
	return b.String()
}

// content is the digest of the module's tables only, without the version
// tables and the tool's records.
func content(t *testing.T, dsn string) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(state(t, dsn), "\n") {
		if strings.HasPrefix(l, module+".") && !strings.Contains(l, "schema_version") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func options(t *testing.T, from, to string) (datamove.Options, *bytes.Buffer, *bytes.Buffer) {
	var out, log bytes.Buffer
	return datamove.Options{
		Module: module, Sets: definition(t, module).MigrationSets(), From: from, To: to,
		Out: &out, Log: &log,
	}, &out, &log
}

func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestMoveCopiesVerifiesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, dst := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	db := openModule(t, src)
	fill(t, db, 20000)
	db.Close() // the module stops on the source

	o, out, log := options(t, src, dst)
	if err := datamove.Move(ctx, o); err != nil {
		t.Fatalf("move: %v\n%s", err, log)
	}
	if got, want := content(t, dst), content(t, src); got != want {
		t.Fatalf("target differs from source:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(out.String(), "moved payments") || !strings.Contains(log.String(), "copied payments.events") {
		t.Errorf("output:\n%s\nlog:\n%s", out, log)
	}
	// Sequences follow: the target's next outbox row does not collide.
	tdb := openModule(t, dst)
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO outbox (id, topic, partition, envelope) VALUES (gen_random_uuid(), 't', 0, '{}')`); err != nil {
		t.Fatalf("insert into the target after the move: %v", err)
	}
	var seq int64
	if err := tdb.Pool.QueryRow(ctx, `SELECT max(seq) FROM outbox`).Scan(&seq); err != nil || seq != 20001 {
		t.Fatalf("next outbox seq %d, %v; want 20001", seq, err)
	}
	tdb.Close()
	if _, err := tdb.Pool.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("pool still open")
	}
	exec(t, dst, `DELETE FROM payments.outbox WHERE seq = 20001`)

	before, srcBefore := state(t, dst), state(t, src)
	o, out, log = options(t, src, dst)
	if err := datamove.Move(ctx, o); err != nil {
		t.Fatalf("second move: %v\n%s", err, log)
	}
	if !strings.Contains(out.String(), "already moved") {
		t.Errorf("second run says:\n%s", out)
	}
	if state(t, dst) != before || state(t, src) != srcBefore {
		t.Error("the second run changed something")
	}
}
