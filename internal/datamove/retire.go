package datamove

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetireOptions says which module's old schema to drop where.
type RetireOptions struct {
	Module   string    // required
	Database string    // admin DSN of the database the module moved out of; required
	Yes      bool      // drop; without it Retire only prints what it would drop
	Out      io.Writer // default io.Discard
}

// Retire drops the module's schema from the database it was moved out of,
// only when a verified move out of that very database is recorded there
// and no session of the module's role is connected to it.
func Retire(ctx context.Context, o RetireOptions) error {
	if o.Module == "" || o.Database == "" {
		return errors.New("datamove: Module and Database are required")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	d, err := connect(ctx, "database", o.Database)
	if err != nil {
		return err
	}
	defer d.close()
	rec, err := findRecord(ctx, d.conn, o.Module, d.id, "")
	if err != nil {
		return err
	}
	exists, err := d.schemaExists(ctx, o.Module)
	if err != nil {
		return err
	}
	switch {
	case rec != nil && rec.State == stateRetired && !exists:
		fmt.Fprintf(o.Out, "%s was already retired from %s at %s\n", o.Module, d.where, rec.RetiredAt.UTC().Format(time.RFC3339))
		return nil
	case rec == nil || rec.State != stateVerified:
		return fmt.Errorf("no verified move of %s out of %s is recorded there: move it first with extract data %s --from ... --to ...; nothing dropped",
			o.Module, d.where, o.Module)
	case !exists:
		return fmt.Errorf("%s has no schema %s", d.where, o.Module)
	}
	if err := d.refuseSessions(ctx, o.Module); err != nil {
		return err
	}
	if err := unchangedSince(ctx, d, o.Module, rec); err != nil {
		return err
	}
	rows, err := d.conn.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`, o.Module)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	verb := "would drop"
	if o.Yes {
		verb = "dropping"
	}
	fmt.Fprintf(o.Out, "%s schema %s from %s (moved to %s, verified at %s), with %d tables:\n",
		verb, o.Module, d.where, rec.TargetWhere, rec.VerifiedAt.UTC().Format(time.RFC3339), len(names))
	for _, n := range names {
		var count int64
		if err := d.conn.QueryRow(ctx, `SELECT count(*) FROM `+qualified(o.Module, n)).Scan(&count); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "  %-32s %10d rows\n", o.Module+"."+n, count)
	}
	if !o.Yes {
		fmt.Fprintf(o.Out, "nothing changed; run again with --yes to drop it\n")
		return nil
	}
	now := time.Now().UTC()
	err = d.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DROP SCHEMA `+ident(o.Module)+` CASCADE`); err != nil {
			return err
		}
		r := *rec
		r.State, r.RetiredAt = stateRetired, &now
		return writeRecord(ctx, tx, r)
	})
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", o.Module, err)
	}
	fmt.Fprintf(o.Out, "dropped schema %s from %s; the retirement is recorded in shop_extract.moves\n", o.Module, d.where)
	return nil
}

// unchangedSince fails when the module's tables in d differ from what the
// move verified: something wrote to the old schema after the move (a
// rollback by mistake, say), and dropping it would lose that.
func unchangedSince(ctx context.Context, d *database, module string, rec *record) error {
	ts, err := tables(ctx, d.conn, module, []string{})
	if err != nil {
		return err
	}
	byName := map[string]table{}
	for _, t := range ts {
		byName[t.String()] = t
	}
	var moved []table
	for _, c := range rec.Tables {
		t, ok := byName[c.Table]
		if !ok {
			return fmt.Errorf("table %s, moved and verified, is no longer in %s: nothing dropped", c.Table, d.where)
		}
		moved = append(moved, t)
	}
	now, err := checksums(ctx, d.conn, moved)
	if err != nil {
		return err
	}
	if diff := compare(rec.Tables, now); diff != "" {
		return fmt.Errorf("the old schema changed after the verified move (%s): something wrote to it since; nothing dropped", diff)
	}
	return nil
}
