package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/modmono/shop/internal/datamove"
	"github.com/modmono/shop/modules"
)

const dataUsage = `Usage: extract data MODULE --from DSN --to DSN [--online | --cutover]

Moves MODULE's schema from the database at --from to the database at --to.
Both DSNs are admin DSNs, like DATABASE_URL: their role may create roles
and schemas. The target's schema, role and grants are made by MODULE's own
migrations, never from a dump of the source's DDL.

Offline (no flag): refused while any session of MODULE's role (the owner of its
schema there) is connected to the source, i.e. while MODULE runs on it. Copies every table
of the schema from one consistent snapshot with COPY, in one target
transaction, sets the sequences, and verifies every table (row count and a
checksum of its content computed on both sides). Shows progress on stderr (a
bar per table on a terminal, else a line per table with rows and rows/s).
Records the verified move in shop_extract.moves in both databases. Run again
after success: verifies, says it was already moved, changes nothing.
Interrupted at any point (Ctrl-C, kill -9): run it again to finish.

--online: MODULE keeps running on the source. Needs wal_level=logical on the
source. Publishes MODULE's tables on the source (publication shop_move_MODULE,
slot shop_move_MODULE_<source database OID>), subscribes in the target
(subscription shop_move_MODULE), prints the lag until caught up, and exits
with the replication running. Any failure removes what it set up.

--cutover: finishes an online move. Waits until no session of MODULE's role is
left on the source (stop MODULE there) and the replication has caught up,
verifies, sets the sequences, removes subscription, slot and publication,
records the move, and prints how long MODULE was down.

Refused, with nothing changed: a source without the schema or at another
migration version than this build's, a target holding other data of MODULE,
an unreachable database.

Modules: %s
`

func data(args []string, stdout, stderr io.Writer) error {
	f := newFlags("data", fmt.Sprintf(dataUsage, strings.Join(modules.Names(), ", ")), stdout)
	from := f.String("from", "", "admin `DSN` of the database MODULE moves out of (required)")
	to := f.String("to", "", "admin `DSN` of the database MODULE moves to (required)")
	online := f.Bool("online", false, "start an online move by logical replication; MODULE keeps running on the source")
	cutover := f.Bool("cutover", false, "finish the online move once MODULE is stopped on the source")
	module, err := f.parseModule(args)
	if err != nil {
		return err
	}
	switch {
	case *from == "" || *to == "":
		return f.fail("--from and --to are required")
	case *online && *cutover:
		return f.fail("--online and --cutover exclude each other: start with --online, finish with --cutover")
	}
	def := definition(module)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Progress goes with the results on stdout, so that a failure's stderr
	// is its one line (SPEC §8); on a terminal, live bars draw on stderr.
	o := datamove.Options{
		Module: module, Sets: def.MigrationSets(), From: *from, To: *to,
		Out: stdout, Log: stdout,
	}
	if isTerminal(stderr) {
		o.Log, o.Progress = stderr, barProgress{w: stderr}
	}
	switch {
	case *online:
		return datamove.StartOnline(ctx, o)
	case *cutover:
		_, err := datamove.Cutover(ctx, o)
		return err
	}
	return datamove.Move(ctx, o)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// barProgress draws a live bar per table on a terminal.
type barProgress struct{ w io.Writer }

func (p barProgress) Start(table string, rows int64) datamove.TableProgress {
	return barTable{progressbar.NewOptions64(rows,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-32s", table)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)}
}

type barTable struct{ bar *progressbar.ProgressBar }

func (b barTable) Add(rows int64) { _ = b.bar.Add64(rows) }

func (b barTable) Done(int64, time.Duration) { _ = b.bar.Finish() }
