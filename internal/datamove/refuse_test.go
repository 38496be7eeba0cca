package datamove_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/datamove"
	paymentsmigrations "github.com/modmono/shop/migrations/payments"
	"github.com/modmono/shop/platform/pgtest"
)

// migrationsOf is the latest migration version of payments in this build,
// read as extract reads it.
func migrationsOf(t *testing.T) int {
	t.Helper()
	v, err := datamove.LatestVersion(paymentsmigrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every refusal names its reason and leaves source and target untouched.
func TestRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	type fixture struct{ src, dst string }
	filled := func(t *testing.T) fixture {
		f := fixture{pgtest.NewDatabase(t), pgtest.NewDatabase(t)}
		db := openModule(t, f.src)
		fill(t, db, 100)
		db.Close()
		return f
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, f *fixture)
		run     func(ctx context.Context, o datamove.Options) error
		want    string
	}{
		{
			name: "module role connected to the source",
			prepare: func(t *testing.T, f *fixture) {
				db := openModule(t, f.src)
				conn, err := db.Pool.Acquire(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(conn.Release)
			},
			want: "_payments connected", // session(s) of role shop_<database>_payments
		},
		{
			name: "target holds other data of the module",
			prepare: func(t *testing.T, f *fixture) {
				db := openModule(t, f.dst)
				if _, err := db.Pool.Exec(t.Context(), `INSERT INTO inbox (handler, message_id) VALUES ('mine', gen_random_uuid())`); err != nil {
					t.Fatal(err)
				}
				db.Close()
			},
			want: "already holds data of module payments (in payments.inbox)",
		},
		{
			name:    "unreachable target",
			prepare: func(t *testing.T, f *fixture) { f.dst = "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable" },
			want:    "cannot reach the target database",
		},
		{
			name:    "unreachable source",
			prepare: func(t *testing.T, f *fixture) { f.src = "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable" },
			want:    "cannot reach the source database",
		},
		{
			name:    "source without the schema",
			prepare: func(t *testing.T, f *fixture) { f.src = pgtest.NewDatabase(t) },
			want:    "has no schema payments",
		},
		{
			name: "source at another migration version",
			prepare: func(t *testing.T, f *fixture) {
				exec(t, f.src, `UPDATE payments.schema_version SET version = 7`)
			},
			want: fmt.Sprintf("migration version 7 (payments.schema_version) but this build of extract has version %d", migrationsOf(t)),
		},
		{
			name: "cutover without a running replication",
			run: func(ctx context.Context, o datamove.Options) error {
				_, err := datamove.Cutover(ctx, o)
				return err
			},
			want: "no replication of payments",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filled(t)
			if c.prepare != nil {
				c.prepare(t, &f)
			}
			run := c.run
			if run == nil {
				run = datamove.Move
			}
			var srcBefore, dstBefore string
			if !strings.Contains(f.src, ":1/") {
				srcBefore = state(t, f.src)
			}
			if !strings.Contains(f.dst, ":1/") {
				dstBefore = state(t, f.dst)
			}
			o, out, _ := options(t, f.src, f.dst)
			err := run(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (output %q), want an error with %q", err, out, c.want)
			}
			if srcBefore != "" && state(t, f.src) != srcBefore {
				t.Error("the source changed")
			}
			if dstBefore != "" && state(t, f.dst) != dstBefore {
				t.Error("the target changed")
			}
		})
	}
}

func TestRetire(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, dst := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	db := openModule(t, src)
	fill(t, db, 100)

	retire := func(dsn string, yes bool) (string, error) {
		var out strings.Builder
		err := datamove.Retire(ctx, datamove.RetireOptions{Module: module, Database: dsn, Yes: yes, Out: &out})
		return out.String(), err
	}
	// Before a verified move: refused, even with --yes.
	before := state(t, src)
	if _, err := retire(src, true); err == nil || !strings.Contains(err.Error(), "no verified move of payments") {
		t.Fatalf("retire before the move: %v", err)
	}
	db.Close()
	o, _, log := options(t, src, dst)
	if err := datamove.Move(ctx, o); err != nil {
		t.Fatalf("move: %v\n%s", err, log)
	}
	// The target has a record too, but not of a move out of it.
	if _, err := retire(dst, true); err == nil || !strings.Contains(err.Error(), "no verified move of payments") {
		t.Fatalf("retire in the target: %v", err)
	}
	// A session of the role on the source: refused.
	db = openModule(t, src)
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before = state(t, src)
	if _, err := retire(src, true); err == nil || !strings.Contains(err.Error(), "_payments connected") {
		t.Fatalf("retire with a session: %v", err)
	}
	conn.Release()
	db.Close()
	// The old schema written to after the move: refused, nothing dropped.
	exec(t, src, `INSERT INTO payments.inbox (handler, message_id) VALUES ('late.write', gen_random_uuid())`)
	if _, err := retire(src, true); err == nil || !strings.Contains(err.Error(), "changed after the verified move") || !strings.Contains(err.Error(), "payments.inbox") {
		t.Fatalf("retire after a late write: %v", err)
	}
	exec(t, src, `DELETE FROM payments.inbox WHERE handler = 'late.write'`)
	// Dry run: prints, changes nothing.
	out, err := retire(src, false)
	if err != nil || !strings.Contains(out, "would drop schema payments") || !strings.Contains(out, "payments.events") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if state(t, src) != before {
		t.Error("the dry run changed the source")
	}
	out, err = retire(src, true)
	if err != nil || !strings.Contains(out, "dropped schema payments") {
		t.Fatalf("retire --yes: %v\n%s", err, out)
	}
	if s := state(t, src); strings.Contains(s, "payments.") {
		t.Errorf("schema left:\n%s", s)
	}
	if out, err := retire(src, true); err != nil || !strings.Contains(out, "already retired") {
		t.Errorf("retire again: %v %s", err, out)
	}
}
