package datamove_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/internal/datamove"
	"github.com/modmono/shop/platform/pgtest"
)

// dropReplication removes any subscription of dst and any slot of src, so
// that both databases can be dropped even when a test failed half-way.
func dropReplication(t *testing.T, src, dst string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dst); err == nil {
			rows, _ := conn.Query(ctx, `SELECT subname::text FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
			subs, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, s := range subs {
				n := pgx.Identifier{s}.Sanitize()
				conn.Exec(ctx, `ALTER SUBSCRIPTION `+n+` DISABLE`)
				conn.Exec(ctx, `ALTER SUBSCRIPTION `+n+` SET (slot_name = NONE)`)
				conn.Exec(ctx, `DROP SUBSCRIPTION `+n)
			}
			conn.Close(ctx)
		}
		if conn, err := pgx.Connect(ctx, src); err == nil {
			for range 100 {
				var n int
				conn.QueryRow(ctx, `SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE database = current_database() AND NOT active`).Scan(&n)
				var left int
				conn.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE database = current_database()`).Scan(&left)
				if left == 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			conn.Close(ctx)
		}
	})
}

func TestOnlineMoveAndCutover(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, dst := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	dropReplication(t, src, dst)
	db := openModule(t, src)
	fill(t, db, 100000)

	// The module keeps writing while the replication starts.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Pool.Exec(ctx, `INSERT INTO outbox (id, topic, partition, envelope) VALUES (gen_random_uuid(), 'live', 1, '{"live": true}')`); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			written++
			time.Sleep(2 * time.Millisecond)
		}
	})

	o, out, log := options(t, src, dst)
	if err := datamove.StartOnline(ctx, o); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("online: %v\n%s", err, log)
	}
	if !strings.Contains(out.String(), "replication running") || !strings.Contains(log.String(), "caught up") {
		t.Errorf("online output:\n%s\nlog:\n%s", out, log)
	}
	// Run again while it runs: reported, nothing new.
	o, out, _ = options(t, src, dst)
	if err := datamove.StartOnline(ctx, o); err != nil || !strings.Contains(out.String(), "already runs") {
		t.Errorf("second --online: %v\n%s", err, out)
	}
	time.Sleep(200 * time.Millisecond) // more writes flow through the replication
	close(stop)
	wg.Wait()
	db.Close() // the module stops on the source
	if written == 0 {
		t.Fatal("the writer wrote nothing")
	}

	o, out, log = options(t, src, dst)
	downtime, err := datamove.Cutover(ctx, o)
	if err != nil {
		t.Fatalf("cutover: %v\n%s", err, log)
	}
	// The downtime returned is the one printed and recorded.
	if downtime <= 0 || !strings.Contains(out.String(), fmt.Sprintf("downtime: %.3fs ", downtime.Seconds())) {
		t.Errorf("cutover returned downtime %s; output:\n%s", downtime, out)
	}
	var recorded time.Duration
	if err := pgxConnect(t, dst).QueryRow(ctx, `SELECT (extract(epoch FROM downtime) * 1e6)::bigint * 1000 FROM shop_extract.moves WHERE module = $1`, module).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != downtime.Truncate(time.Microsecond) {
		t.Errorf("recorded downtime %s, returned %s", recorded, downtime)
	}
	t.Logf("cutover output:\n%s%s", log, out)
	if got, want := content(t, dst), content(t, src); got != want {
		t.Fatalf("target differs from source:\n%s\nwant\n%s", got, want)
	}
	for _, dsn := range []string{src, dst} {
		if s := state(t, dsn); !strings.HasSuffix(s, "0 publications, 0 subscriptions, 0 slots") {
			t.Errorf("replication objects left: %s", s[strings.LastIndex(s, "\n")+1:])
		}
	}
	// Run again once done: verified again, nothing cut over, no downtime.
	o, out, _ = options(t, src, dst)
	if d, err := datamove.Cutover(ctx, o); err != nil || d != 0 || !strings.Contains(out.String(), "already moved") {
		t.Errorf("second cutover: %s, %v\n%s", d, err, out)
	}
	tdb := openModule(t, dst)
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO outbox (id, topic, partition, envelope) VALUES (gen_random_uuid(), 't', 0, '{}')`); err != nil {
		t.Fatalf("insert into the target after the cutover: %v", err)
	}
}

// pgxConnect connects to dsn for the rest of the test.
func pgxConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
