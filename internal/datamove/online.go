package datamove

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modmono/shop/platform/pgxdb"
)

// Names of the replication objects of module's move; see the package
// documentation.
func publicationName(module string) string  { return "shop_move_" + module }
func subscriptionName(module string) string { return "shop_move_" + module }
func slotName(module string, sourceOID uint32) string {
	return fmt.Sprintf("shop_move_%s_%d", module, sourceOID)
}

// replication is the state of a module's subscription in the target.
type replication struct {
	oid    uint32 // of the subscription; 0 when there is none
	tables map[string]string
	errors int64 // apply and sync errors the subscription has met so far
}

// subscription reads the target's subscription of the module.
func (o *Options) subscription(ctx context.Context, dst *database) (replication, error) {
	r := replication{tables: map[string]string{}}
	err := dst.conn.QueryRow(ctx, `SELECT oid FROM pg_subscription WHERE subname = $1
		AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`, subscriptionName(o.Module)).Scan(&r.oid)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("target: %w", err)
	}
	rows, err := dst.conn.Query(ctx, `SELECT srrelid::regclass::text, srsubstate::text FROM pg_subscription_rel WHERE srsubid = $1`, r.oid)
	if err != nil {
		return r, fmt.Errorf("target: %w", err)
	}
	var name, st string
	_, err = pgx.ForEachRow(rows, []any{&name, &st}, func() error { r.tables[name] = st; return nil })
	if err != nil {
		return r, fmt.Errorf("target: %w", err)
	}
	// Errors so far are reported with the lag, not fatal: the counters never
	// go down, and a transient one (the source restarting) is retried by
	// Postgres; one that persists shows as a lag that never closes, which
	// CatchUpTimeout ends.
	if err := dst.conn.QueryRow(ctx, `SELECT coalesce(sum(apply_error_count + sync_error_count), 0) FROM pg_stat_subscription_stats WHERE subid = $1`, r.oid).Scan(&r.errors); err != nil {
		return r, fmt.Errorf("target: %w", err)
	}
	return r, nil
}

func (r replication) ready() bool {
	if len(r.tables) == 0 {
		return false
	}
	for _, st := range r.tables {
		if st != "r" {
			return false
		}
	}
	return true
}

func (r replication) String() string {
	n := map[string]int{}
	for _, st := range r.tables {
		n[st]++
	}
	names := map[string]string{"i": "initializing", "d": "copying", "f": "copied", "s": "synchronized", "r": "ready"}
	var parts []string
	for _, st := range []string{"r", "s", "f", "d", "i"} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], names[st]))
		}
	}
	if r.errors > 0 {
		parts = append(parts, fmt.Sprintf("%d apply errors so far (see the target server's log)", r.errors))
	}
	return fmt.Sprintf("tables: %s", strings.Join(parts, ", "))
}

// slotLag returns the source's current WAL position and how many bytes the
// slot's confirmed position is behind it; exists is false without the slot.
func slotLag(ctx context.Context, src *database, slot string) (current string, lag int64, exists bool, err error) {
	err = src.conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text,
		coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), -1)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&current, &lag)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("source: %w", err)
	}
	return current, lag, true, nil
}

// slotReached reports whether the slot has confirmed lsn.
func slotReached(ctx context.Context, src *database, slot, lsn string) (bool, error) {
	var ok bool
	err := src.conn.QueryRow(ctx, `SELECT coalesce(confirmed_flush_lsn >= $2::pg_lsn, false) FROM pg_replication_slots WHERE slot_name = $1`, slot, lsn).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("source: slot %s: %w", slot, err)
	}
	return ok, nil
}

// StartOnline starts the online move of the module: the target's schema
// from the migrations, a publication and a slot on the source, a
// subscription in the target; it returns once the replication has caught
// up, leaving it running. Any failure removes what it set up.
func StartOnline(ctx context.Context, o Options) (err error) {
	p, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	src, dst := p.src, p.dst
	if err := o.checkSource(ctx, src); err != nil {
		return err
	}
	var walLevel string
	if err := src.conn.QueryRow(ctx, `SHOW wal_level`).Scan(&walLevel); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if walLevel != "logical" {
		return fmt.Errorf("the source server runs with wal_level=%s and --online needs wal_level=logical (ALTER SYSTEM SET wal_level = logical, then restart it), or move offline without --online", walLevel)
	}
	rec, err := findRecord(ctx, dst.conn, o.Module, src.id, dst.id)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	sub, err := o.subscription(ctx, dst)
	if err != nil {
		return err
	}
	slot := slotName(o.Module, src.oid)
	leftover := false
	switch {
	case rec != nil && rec.State == stateVerified:
		fmt.Fprintf(o.Out, "%s was already moved from %s to %s: nothing to replicate\n", o.Module, src.where, dst.where)
		return nil
	case rec != nil && rec.State == stateCopied:
		return fmt.Errorf("an offline move of %s from %s to %s is unfinished: run extract data without --online to finish it", o.Module, src.where, dst.where)
	case rec != nil && rec.State == stateReplicating && sub.oid != 0:
		_, lag, _, err := slotLag(ctx, src, slot)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "the replication of %s from %s to %s already runs (since %s): lag %d bytes, %s; finish it with --cutover\n",
			o.Module, src.where, dst.where, rec.StartedAt.UTC().Format(time.RFC3339), lag, sub)
		return nil
	case sub.oid != 0:
		return fmt.Errorf("the target has a subscription %s that no move from this source recorded: refusing", subscriptionName(o.Module))
	case rec != nil && rec.State == stateReplicating:
		leftover = true // an earlier run stopped before it could clean up
	default:
		if err := o.refuseOtherData(ctx, dst); err != nil {
			return err
		}
	}
	ts, err := tables(ctx, src.conn, o.Module, o.versionTables())
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for _, t := range ts {
		if len(t.PrimaryKey) == 0 {
			// Its updates and deletes would replicate only with REPLICA
			// IDENTITY FULL, a change to the live source this tool does not make.
			return fmt.Errorf("table %s has no primary key, so logical replication cannot carry its updates and deletes: move %s offline instead", t, o.Module)
		}
	}
	if leftover {
		if err := dst.refuseSessions(ctx, o.Module); err != nil { // never empty tables a running module uses
			return err
		}
		fmt.Fprintf(o.Log, "removing what an interrupted --online run of %s left\n", o.Module)
		if err := o.removeReplication(ctx, p, ts, true); err != nil {
			return err
		}
	}
	if err := o.migrateTarget(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// On new connections: pgx closes one whose query was cancelled
			// (Ctrl-C), and a slot left behind keeps WAL on the source forever.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			fresh, cerr := o.open(cctx)
			if cerr == nil {
				cerr = o.removeReplication(cctx, fresh, ts, true)
				fresh.close()
			}
			if cerr != nil {
				err = fmt.Errorf("%w; and removing the replication failed too: %v", err, cerr)
			}
		}
	}()
	if err := o.setUpReplication(ctx, p, ts, slot); err != nil {
		return err
	}
	if err := o.waitCaughtUp(ctx, p, slot); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "replicating %s from %s to %s: caught up, replication running\n"+
		"stop %s on the source, then finish with: extract data %s --from ... --to ... --cutover\n",
		o.Module, src.where, dst.where, o.Module, o.Module)
	return nil
}

// setUpReplication creates the publication and the slot on the source, then
// the move's record and the subscription in the target.
func (o *Options) setUpReplication(ctx context.Context, p pair, ts []table, slot string) error {
	src, dst := p.src, p.dst
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.qualified()
	}
	pub := publicationName(o.Module)
	var exists bool
	if err := src.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, pub).Scan(&exists); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if !exists {
		if _, err := src.conn.Exec(ctx, `CREATE PUBLICATION `+ident(pub)+` FOR TABLE `+strings.Join(names, ", ")); err != nil {
			return fmt.Errorf("source: create publication: %w", err)
		}
	}
	if _, _, exists, err := slotLag(ctx, src, slot); err != nil {
		return err
	} else if !exists {
		// Created here, not by CREATE SUBSCRIPTION: that hangs when the
		// target is in the same cluster.
		if _, err := src.conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, slot); err != nil {
			return fmt.Errorf("source: create replication slot %s: %w", slot, err)
		}
	}
	return dst.withTx(ctx, func(tx pgx.Tx) error {
		if err := writeRecord(ctx, tx, o.newRecord(p, "online", stateReplicating)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s
			WITH (create_slot = false, slot_name = %s, copy_data = true)`,
			ident(subscriptionName(o.Module)), quoteLiteral(src.conninfo()), ident(pub), quoteLiteral(slot)))
		if err != nil {
			return fmt.Errorf("target: create subscription: %w", err)
		}
		return nil
	})
}

// waitCaughtUp waits until every table is synchronised and the slot has
// confirmed the source's WAL position seen once they were, printing the lag.
func (o *Options) waitCaughtUp(ctx context.Context, p pair, slot string) error {
	var target string
	lastPrint := time.Time{}
	for {
		sub, err := o.subscription(ctx, p.dst)
		if err != nil {
			return err
		}
		if sub.oid == 0 {
			return errors.New("the subscription disappeared from the target")
		}
		current, lag, exists, err := slotLag(ctx, p.src, slot)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("the replication slot %s disappeared from the source", slot)
		}
		if sub.ready() {
			if target == "" {
				target = current
			}
			ok, err := slotReached(ctx, p.src, slot, target)
			if err != nil {
				return err
			}
			if ok {
				fmt.Fprintf(o.Log, "lag %d bytes, %s: caught up\n", max(lag, 0), sub)
				return nil
			}
		}
		if time.Since(lastPrint) >= time.Second {
			fmt.Fprintf(o.Log, "lag %d bytes, %s\n", max(lag, 0), sub)
			lastPrint = time.Now()
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
}

// removeReplication drops the subscription (and the target's marker and
// copied rows when abandon is set), the slot and the publication. Each step
// skips what is already gone.
func (o *Options) removeReplication(ctx context.Context, p pair, ts []table, abandon bool) error {
	src, dst := p.src, p.dst
	sub, err := o.subscription(ctx, dst)
	if err != nil && sub.oid == 0 {
		return err
	}
	if sub.oid != 0 {
		name := ident(subscriptionName(o.Module))
		for _, q := range []string{
			`ALTER SUBSCRIPTION ` + name + ` DISABLE`,
			`ALTER SUBSCRIPTION ` + name + ` SET (slot_name = NONE)`,
			`DROP SUBSCRIPTION ` + name,
		} {
			if _, err := dst.conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("target: %s: %w", q, err)
			}
		}
	}
	if abandon {
		err := dst.withTx(ctx, func(tx pgx.Tx) error {
			if err := deleteRecord(ctx, tx, o.Module, src.id, dst.id); err != nil {
				return err
			}
			if ok, err := dst.schemaExists(ctx, o.Module); err != nil || !ok {
				return err
			}
			return emptyTables(ctx, tx, ts)
		})
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	slots := []string{slotName(o.Module, src.oid)}
	if sub.oid != 0 {
		// The table synchronisation workers' slots, should a sync have been
		// cut short.
		rows, err := src.conn.Query(ctx, `SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE $1`, fmt.Sprintf("pg_%d_sync_%%", sub.oid))
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		more, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		slots = append(slots, more...)
	}
	for _, s := range slots {
		if err := dropSlot(ctx, src, s); err != nil {
			return err
		}
	}
	if _, err := src.conn.Exec(ctx, `DROP PUBLICATION IF EXISTS `+ident(publicationName(o.Module))); err != nil {
		return fmt.Errorf("source: drop publication: %w", err)
	}
	return nil
}

// dropSlot drops slot on src, waiting while the walsender of a subscription
// just disabled still holds it.
func dropSlot(ctx context.Context, src *database, slot string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var exists bool
		if err := src.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, slot).Scan(&exists); err != nil {
			return fmt.Errorf("source: %w", err)
		}
		if !exists {
			return nil
		}
		_, err := src.conn.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, slot)
		switch code := pgxdb.SQLState(err); {
		case err == nil:
			return nil
		case code == "55006" && time.Now().Before(deadline): // object_in_use: still active
		case code == "42704": // undefined_object: gone meanwhile
			return nil
		default:
			return fmt.Errorf("source: drop replication slot %s (drop it by hand, it retains WAL): %w", slot, err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// Cutover finishes the online move of the module: it waits until the
// module's role has no session left on the source and the replication has
// caught up, verifies, sets the sequences, removes the replication,
// records the move and prints the downtime, which it also returns: the time
// from the last session of the module's role leaving the source to the
// target verified. A move already verified is verified again, changes
// nothing and returns 0.
func Cutover(ctx context.Context, o Options) (time.Duration, error) {
	p, err := o.open(ctx)
	if err != nil {
		return 0, err
	}
	defer p.close()
	src, dst := p.src, p.dst
	rec, err := findRecord(ctx, dst.conn, o.Module, src.id, dst.id)
	if err != nil {
		return 0, fmt.Errorf("target: %w", err)
	}
	sub, err := o.subscription(ctx, dst)
	if err != nil {
		return 0, err
	}
	if rec != nil && rec.State == stateVerified {
		if err := o.checkSource(ctx, src); err != nil {
			return 0, err
		}
		ts, err := tables(ctx, src.conn, o.Module, o.versionTables())
		if err != nil {
			return 0, fmt.Errorf("source: %w", err)
		}
		return 0, o.alreadyMoved(ctx, p, ts, rec)
	}
	if rec == nil || rec.State != stateReplicating {
		return 0, fmt.Errorf("no replication of %s from %s to %s is running: start one with extract data %s --from ... --to ... --online",
			o.Module, src.where, dst.where, o.Module)
	}
	if sub.oid == 0 {
		fmt.Fprintf(o.Log, "resuming an interrupted cutover: the subscription is already removed\n")
	}
	if err := o.checkSource(ctx, src); err != nil {
		return 0, err
	}
	ts, err := tables(ctx, src.conn, o.Module, o.versionTables())
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	down, err := o.waitNoSessions(ctx, src)
	if err != nil {
		return 0, err
	}
	slot := slotName(o.Module, src.oid)
	if sub.oid != 0 {
		var lsn string
		if err := src.conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
			return 0, fmt.Errorf("source: %w", err)
		}
		fmt.Fprintf(o.Log, "waiting for the replication to reach %s\n", lsn)
		deadline, report := time.Now().Add(o.CatchUpTimeout), time.Now().Add(time.Second)
		for {
			sub, err := o.subscription(ctx, dst)
			if err != nil {
				return 0, err
			}
			ok, err := slotReached(ctx, src, slot, lsn)
			if err != nil {
				return 0, err
			}
			if ok && sub.ready() {
				break
			}
			if now := time.Now(); now.After(deadline) {
				return 0, fmt.Errorf("the replication did not reach %s within %s (%s); it keeps running: run --cutover again", lsn, o.CatchUpTimeout, sub)
			} else if now.After(report) {
				fmt.Fprintf(o.Log, "still waiting for the replication to reach %s: %s\n", lsn, sub)
				report = now.Add(time.Second)
			}
			if err := sleep(ctx, o.Poll/4); err != nil {
				return 0, err
			}
		}
	}
	fmt.Fprintf(o.Log, "replication caught up %.3fs after the last session left; verifying\n", time.Since(down).Seconds())
	var checks []TableCheck
	deadline := time.Now().Add(o.CatchUpTimeout)
	for {
		var diff string
		started := time.Now()
		if checks, diff, err = verify(ctx, p, ts); err != nil {
			return 0, err
		}
		if diff == "" {
			fmt.Fprintf(o.Log, "verified in %.3fs\n", time.Since(started).Seconds())
			break
		}
		fmt.Fprintf(o.Log, "not equal yet (%.3fs): %s\n", time.Since(started).Seconds(), diff)
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the target still differs from the source after %s: %s; the replication keeps running", o.CatchUpTimeout, diff)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return 0, err
		}
	}
	downtime := time.Since(down)
	// The module came back on the source while we verified: its writes
	// still replicate, so stop here, before the replication is removed.
	if err := src.refuseSessions(ctx, o.Module); err != nil {
		return 0, fmt.Errorf("%w; the replication keeps running: run --cutover again once it is stopped", err)
	}
	seqs, err := readSequences(ctx, src.conn, o.Module)
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	if err := writeSequences(ctx, dst.conn, o.Module, seqs); err != nil {
		return 0, fmt.Errorf("target: %w", err)
	}
	if err := o.removeReplication(ctx, p, ts, false); err != nil {
		return 0, err
	}
	if err := o.finish(ctx, p, "online", checks, &downtime); err != nil {
		return 0, err
	}
	role, err := src.moduleRole(ctx, o.Module)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(o.Out, "downtime: %.3fs (from the last session of %s leaving the source to verified)\n", downtime.Seconds(), role)
	return downtime, nil
}

// waitNoSessions waits until the module's role has no session on src and
// returns when it first saw none.
func (o *Options) waitNoSessions(ctx context.Context, src *database) (time.Time, error) {
	role, err := src.moduleRole(ctx, o.Module)
	if err != nil || role == "" {
		return time.Now(), err
	}
	last := ""
	for {
		ss, err := src.sessions(ctx, role)
		if err != nil {
			return time.Time{}, err
		}
		if len(ss) == 0 {
			return time.Now(), nil
		}
		if s := joinSessions(ss); s != last {
			fmt.Fprintf(o.Log, "waiting for %d session(s) of %s to leave the source (stop %s there): %s\n", len(ss), role, o.Module, s)
			last = s
		}
		if err := sleep(ctx, o.Poll/4); err != nil {
			return time.Time{}, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
