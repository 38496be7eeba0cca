package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/modmono/shop/internal/datamove"
	"github.com/modmono/shop/modules"
)

const retireUsage = `Usage: extract retire MODULE --database DSN [--yes]

Drops MODULE's schema from the database it was moved out of (DSN: an admin
DSN of that database, like DATABASE_URL), the last step of an extraction.
Refused unless a verified move of MODULE out of that database is recorded
there (extract data records it) and no session of MODULE's role
(the owner of its schema) is connected to it.

Without --yes it prints what it would drop (the schema, its tables with their
row counts) and changes nothing. With --yes it drops the schema (CASCADE) and
records the retirement in shop_extract.moves. The role stays: roles are
cluster-wide; drop it by hand once nothing uses it.

Modules: %s
`

func retire(args []string, stdout, stderr io.Writer) error {
	f := newFlags("retire", fmt.Sprintf(retireUsage, strings.Join(modules.Names(), ", ")), stdout)
	database := f.String("database", "", "admin `DSN` of the database MODULE moved out of (required)")
	yes := f.Bool("yes", false, "drop the schema; without it, print what would be dropped")
	module, err := f.parseModule(args)
	if err != nil {
		return err
	}
	if *database == "" {
		return f.fail("--database is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return datamove.Retire(ctx, datamove.RetireOptions{Module: module, Database: *database, Yes: *yes, Out: stdout})
}
