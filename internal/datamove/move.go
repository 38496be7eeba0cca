package datamove

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/platform/pgxdb"
)

// Options says which module moves where. Module, Sets, From and To are
// required.
type Options struct {
	Module string               // the module, also its schema; its role owns that schema (pgxdb.ModuleRole)
	Sets   []pgxdb.MigrationSet // its migrations (modkit.MigrationSets); their version tables do not move
	From   string               // admin DSN of the source database
	To     string               // admin DSN of the target database

	Out      io.Writer     // results; default io.Discard
	Log      io.Writer     // waits, lag and progress lines; default io.Discard
	Progress Progress      // per-table copy progress; default a line per table on Log
	Poll     time.Duration // how often waits poll; default 100 ms
	// CatchUpTimeout bounds how long Cutover polls for equal tables once the
	// replication has reached the source's WAL position; default 5 min.
	CatchUpTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Progress == nil {
		o.Progress = LineProgress{W: o.Log}
	}
	if o.Poll == 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.CatchUpTimeout == 0 {
		o.CatchUpTimeout = 5 * time.Minute
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Module == "" {
		errs = append(errs, errors.New("datamove: Module is required"))
	}
	if len(o.Sets) == 0 {
		errs = append(errs, errors.New("datamove: Sets is required"))
	}
	if o.From == "" || o.To == "" {
		errs = append(errs, errors.New("datamove: From and To are required"))
	}
	return errors.Join(errs...)
}

func (o *Options) versionTables() []string {
	names := make([]string, len(o.Sets))
	for i, s := range o.Sets {
		names[i] = s.VersionTable
	}
	return names
}

// pair is the two open sides of a move.
type pair struct {
	src, dst *database
}

func (p pair) close() {
	if p.src != nil {
		p.src.close()
	}
	if p.dst != nil {
		p.dst.close()
	}
}

// open validates o, connects to both sides, refuses a move onto itself,
// and takes the target's lock of the module's moves, so two runs never
// interleave. Nothing is changed.
func (o *Options) open(ctx context.Context) (pair, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return pair{}, err
	}
	var p pair
	var err error
	if p.src, err = connect(ctx, "source", o.From); err != nil {
		return pair{}, err
	}
	if p.dst, err = connect(ctx, "target", o.To); err != nil {
		p.close()
		return pair{}, err
	}
	if p.src.id == p.dst.id {
		p.close()
		return pair{}, fmt.Errorf("source and target are the same database (%s)", p.src.where)
	}
	var locked bool
	if err := p.dst.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('shop_extract'), hashtext($1))`, o.Module).Scan(&locked); err != nil {
		p.close()
		return pair{}, fmt.Errorf("target: %w", err)
	}
	if !locked {
		p.close()
		return pair{}, fmt.Errorf("another extract data of module %s is running against the target %s", o.Module, p.dst.where)
	}
	return p, nil
}

// checkSource refuses a source without the module's schema or at another
// migration version than this build's.
func (o *Options) checkSource(ctx context.Context, src *database) error {
	ok, err := src.schemaExists(ctx, o.Module)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if !ok {
		return fmt.Errorf("the source database %s has no schema %s: nothing to move", src.where, o.Module)
	}
	return src.checkVersions(ctx, o.Module, o.Sets)
}

// refuseOtherData refuses a target whose module tables hold rows.
func (o *Options) refuseOtherData(ctx context.Context, dst *database) error {
	ok, err := dst.schemaExists(ctx, o.Module)
	if err != nil || !ok {
		return err
	}
	ts, err := tables(ctx, dst.conn, o.Module, o.versionTables())
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	full, err := nonEmpty(ctx, dst.conn, ts)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if len(full) > 0 {
		return fmt.Errorf("the target database %s already holds data of module %s (in %s) that no unfinished move from this source recorded: refusing to mix it",
			dst.where, o.Module, strings.Join(full, ", "))
	}
	return nil
}

// migrateTarget creates the module's schema, role and grants in the target
// by running its own migrations there.
func (o *Options) migrateTarget(ctx context.Context) error {
	db, err := pgxdb.Open(ctx, o.To, o.Module, o.Sets, nil)
	if err != nil {
		return fmt.Errorf("target: create the schema of %s from its migrations: %w", o.Module, err)
	}
	db.Close()
	return nil
}

func (o *Options) newRecord(p pair, method, state string) record {
	return record{Module: o.Module, Source: p.src.id, Target: p.dst.id, SourceWhere: p.src.where,
		TargetWhere: p.dst.where, Method: method, State: state}
}

// Move moves the module's schema offline: see the package documentation
// and `extract data --help`. Run again after a success it verifies and
// changes nothing; after an interruption it finishes the move.
func Move(ctx context.Context, o Options) error {
	p, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	src, dst := p.src, p.dst
	if err := o.checkSource(ctx, src); err != nil {
		return err
	}
	if err := src.refuseSessions(ctx, o.Module); err != nil {
		return err
	}
	rec, err := findRecord(ctx, dst.conn, o.Module, src.id, dst.id)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	ts, err := tables(ctx, src.conn, o.Module, o.versionTables())
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	recopy := false
	switch {
	case rec != nil && rec.State == stateVerified:
		return o.alreadyMoved(ctx, p, ts, rec)
	case rec != nil && rec.State == stateReplicating:
		return fmt.Errorf("an online move of %s from %s to %s is running: finish it with --cutover", o.Module, src.where, dst.where)
	case rec != nil && rec.State == stateCopied:
		// A copy committed by an earlier run that stopped before verifying.
		fmt.Fprintf(o.Log, "finishing the move of %s started at %s\n", o.Module, rec.StartedAt.UTC().Format(time.RFC3339))
		checks, diff, err := verify(ctx, p, ts)
		if err != nil {
			return err
		}
		if diff == "" {
			return o.finish(ctx, p, "offline", checks, nil)
		}
		fmt.Fprintf(o.Log, "the copy differs from the source now (%s): copying again\n", diff)
		if err := dst.refuseSessions(ctx, o.Module); err != nil { // never empty tables a running module uses
			return err
		}
		recopy = true
	default:
		if err := o.refuseOtherData(ctx, dst); err != nil {
			return err
		}
	}
	if err := o.migrateTarget(ctx); err != nil {
		return err
	}
	started := time.Now()
	rows, err := o.copyAll(ctx, p, recopy)
	if err != nil {
		return err
	}
	elapsed := time.Since(started)
	fmt.Fprintf(o.Log, "copied %d rows of %d tables in %.2fs (%.0f rows/s)\n", rows, len(ts), elapsed.Seconds(), float64(rows)/max(elapsed.Seconds(), 1e-9))
	checks, diff, err := verify(ctx, p, ts)
	if err != nil {
		return err
	}
	if diff != "" {
		return fmt.Errorf("verification failed, the source changed during the copy? %s; run extract data again once %s is stopped on the source", diff, o.Module)
	}
	// The module started on the source while we copied: what it writes now
	// would be left behind.
	if err := src.refuseSessions(ctx, o.Module); err != nil {
		return err
	}
	return o.finish(ctx, p, "offline", checks, nil)
}

// copyAll copies every table from one snapshot of the source in one target
// transaction, with the marker of the move and the sequences, and returns
// the number of rows.
func (o *Options) copyAll(ctx context.Context, p pair, recopy bool) (int64, error) {
	srcTx, err := p.src.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	defer srcTx.Rollback(context.WithoutCancel(ctx))
	ts, err := tables(ctx, srcTx, o.Module, o.versionTables())
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	seqs, err := readSequences(ctx, srcTx, o.Module)
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	counts := make([]int64, len(ts))
	for i, t := range ts {
		if err := srcTx.QueryRow(ctx, `SELECT count(*) FROM `+t.qualified()).Scan(&counts[i]); err != nil {
			return 0, fmt.Errorf("source: count %s: %w", t, err)
		}
	}
	var total int64
	err = p.dst.withTx(ctx, func(dstTx pgx.Tx) error {
		if err := writeRecord(ctx, dstTx, o.newRecord(p, "offline", stateCopied)); err != nil {
			return err
		}
		if recopy {
			if err := emptyTables(ctx, dstTx, ts); err != nil {
				return err
			}
		}
		for i, t := range ts {
			n, err := copyTable(ctx, srcTx, dstTx, t, o.Progress.Start(t.String(), counts[i]))
			if err != nil {
				return err
			}
			total += n
		}
		return writeSequences(ctx, dstTx, o.Module, seqs)
	})
	if err != nil {
		return 0, fmt.Errorf("copy to the target (nothing of it was kept): %w", err)
	}
	return total, nil
}

// copyTable streams t from the source's COPY TO into the target's COPY FROM.
func copyTable(ctx context.Context, srcTx, dstTx pgx.Tx, t table, prog TableProgress) (int64, error) {
	started := time.Now()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := srcTx.Conn().PgConn().CopyTo(ctx, &rowCounter{w: pw, prog: prog}, "COPY "+t.qualified()+" ("+t.columnList()+") TO STDOUT")
		pw.CloseWithError(err)
		done <- err
	}()
	tag, err := dstTx.Conn().PgConn().CopyFrom(ctx, pr, "COPY "+t.qualified()+" ("+t.columnList()+") FROM STDIN")
	pr.CloseWithError(errors.Join(err, errors.New("target COPY ended")))
	srcErr := <-done
	if srcErr != nil {
		return 0, fmt.Errorf("read %s from the source: %w", t, srcErr)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s to the target: %w", t, err)
	}
	prog.Done(tag.RowsAffected(), time.Since(started))
	return tag.RowsAffected(), nil
}

// rowCounter passes COPY text through and reports rows as they go: in the
// text format every row ends with a newline and newlines inside values are
// escaped.
type rowCounter struct {
	w    io.Writer
	prog TableProgress
}

func (c *rowCounter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if rows := bytes.Count(b[:n], []byte{'\n'}); rows > 0 {
		c.prog.Add(int64(rows))
	}
	return n, err
}

// verify computes every table's count and checksum on both sides and
// returns the source's and a description of the differences ("" if none).
// Both sides compute at the same time, each on its own connection: a
// cutover's downtime is mostly this.
func verify(ctx context.Context, p pair, ts []table) ([]TableCheck, string, error) {
	var s []TableCheck
	var srcErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, srcErr = checksums(ctx, p.src.conn, ts)
	}()
	d, err := checksums(ctx, p.dst.conn, ts)
	<-done
	if srcErr != nil {
		return nil, "", fmt.Errorf("source: %w", srcErr)
	}
	if err != nil {
		return nil, "", fmt.Errorf("target: %w", err)
	}
	return s, compare(s, d), nil
}

// finish records the verified move in the target, then in the source, and
// prints it.
func (o *Options) finish(ctx context.Context, p pair, method string, checks []TableCheck, downtime *time.Duration) error {
	now := time.Now().UTC()
	r := o.newRecord(p, method, stateVerified)
	r.VerifiedAt, r.Tables, r.Downtime = &now, checks, downtime
	if err := p.dst.withTx(ctx, func(tx pgx.Tx) error { return writeRecord(ctx, tx, r) }); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if err := p.src.withTx(ctx, func(tx pgx.Tx) error { return writeRecord(ctx, tx, r) }); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	fmt.Fprintf(o.Out, "moved %s from %s to %s (%s), verified:\n", o.Module, p.src.where, p.dst.where, method)
	printChecks(o.Out, checks)
	return nil
}

// alreadyMoved verifies a recorded move again and changes nothing, except
// the source's record when an interrupted run did not write it.
func (o *Options) alreadyMoved(ctx context.Context, p pair, ts []table, rec *record) error {
	checks, diff, err := verify(ctx, p, ts)
	if err != nil {
		return err
	}
	at := "?"
	if rec.VerifiedAt != nil {
		at = rec.VerifiedAt.UTC().Format(time.RFC3339)
	}
	if diff != "" {
		return fmt.Errorf("%s was moved from %s to %s at %s, but the tables differ now: %s", o.Module, p.src.where, p.dst.where, at, diff)
	}
	srcRec, err := findRecord(ctx, p.src.conn, o.Module, p.src.id, p.dst.id)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if srcRec == nil || (srcRec.State != stateVerified && srcRec.State != stateRetired) {
		r := *rec
		if err := p.src.withTx(ctx, func(tx pgx.Tx) error { return writeRecord(ctx, tx, r) }); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	fmt.Fprintf(o.Out, "%s was already moved from %s to %s at %s; verified again, nothing changed:\n", o.Module, p.src.where, p.dst.where, at)
	printChecks(o.Out, checks)
	return nil
}

func printChecks(w io.Writer, checks []TableCheck) {
	var rows int64
	for _, c := range checks {
		fmt.Fprintf(w, "  %-32s %10d rows  checksum %s  equal\n", c.Table, c.Rows, c.Checksum)
		rows += c.Rows
	}
	fmt.Fprintf(w, "  %d tables, %d rows\n", len(checks), rows)
}
