package main

import (
	"context"
	"io"

	"github.com/modmono/shop/internal/guide"
	"github.com/modmono/shop/internal/surfaces"
)

const planUsage = `Usage: extract plan MODULE [--database DSN]

Prints MODULE's migration guide (Markdown), filled with its facts: who calls
it and whom it calls, the events that move to the broker, the variables to
set on each process, its tables, and the steps of the strangler fig, each
with its command, its check and its way back. docs/migrations/MODULE.md is
the same guide without --database.

With --database, the tables are counted in that database (the monolith's
DATABASE_URL, say): rows and size of each.
`

func plan(args []string, stdout, _ io.Writer) error {
	f := newFlags("plan", planUsage, stdout)
	dsn := f.String("database", "", "count the module's tables in the database at `DSN`")
	module, err := f.parseModule(args)
	if err != nil {
		return err
	}
	facts, err := factsOf(context.Background(), module, *dsn)
	if err != nil {
		return err
	}
	out, err := guide.Plan(facts)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// factsOf gathers module's facts: its surface, its tables from its
// migrations or, with a dsn, from that database.
func factsOf(ctx context.Context, module, dsn string) (guide.Facts, error) {
	d := definition(module)
	f := guide.Facts{Module: d.Surface, All: surfaces.All}
	if dsn == "" {
		var err error
		f.Tables, err = guide.TablesOf(d.Migrations)
		return f, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*connectTimeout)
	defer cancel()
	conn, err := connect(ctx, dsn)
	if err != nil {
		return f, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	f.Tables, err = schemaTables(ctx, conn, module)
	f.Counted, f.Database = true, describe(conn.Config())
	return f, err
}
