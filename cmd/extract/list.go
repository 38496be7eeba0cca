package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/modkit"
)

const listUsage = `Usage: extract list [--json]

Lists every module: the module APIs it calls, the modules that call it, the
events it publishes and consumes, and its schema.

--json prints an array of
  {"name","calls":[module],"called_by":[module],"publishes":[event type],"consumes":[event type],"schema"}
`

// listed is one module as extract list shows it (SPEC §8).
type listed struct {
	Name      string   `json:"name"`
	Summary   string   `json:"-"` // in the table only: SPEC §8 fixes the JSON fields
	Calls     []string `json:"calls"`
	CalledBy  []string `json:"called_by"`
	Publishes []string `json:"publishes"`
	Consumes  []string `json:"consumes"`
	Schema    string   `json:"schema"`
}

func list(args []string, stdout, _ io.Writer) error {
	f := newFlags("list", listUsage, stdout)
	asJSON := f.Bool("json", false, "print JSON instead of a table")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return f.fail("no arguments expected, got %q", strings.Join(pos, " "))
	}
	rows := make([]listed, len(surfaces.All))
	for i, m := range surfaces.All {
		rows[i] = listed{
			Name: m.Name, Summary: m.Summary, Schema: m.Name,
			Calls: nonNil(m.Calls), CalledBy: nonNil(modkit.CalledBy(surfaces.All, m.Name)),
			Publishes: nonNil(m.Publishes()), Consumes: nonNil(m.Consumes()),
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tSCHEMA\tCALLS\tCALLED BY\tPUBLISHES\tCONSUMES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Schema, join(r.Calls), join(r.CalledBy), join(r.Publishes), join(r.Consumes))
	}
	return tw.Flush()
}

func join(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
