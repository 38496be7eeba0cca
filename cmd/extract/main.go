// Command extract helps move a module out of the monolith into its own
// binary (strangler fig). This build knows `list` and `build`; the other
// commands of SPEC §8 (check, plan, data, deploy) come with extraction
// support.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/modmono/shop/modules"
)

const usage = `Usage: extract <command> [flags]

Commands:
  list    list the modules with their dependencies: the module APIs each calls,
          the events each publishes and consumes
  build   build a module's own binary: cmd/app linking only that module and
          the platform, configured by the same environment variables

Run 'extract <command> --help' for a command's flags.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(2)
	}
}

// run executes the command line args. Results go to stdout; progress and
// the go command's diagnostics, streamed as they come, go to stderr.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "list":
		return list(args[1:], stdout)
	case "build":
		return build(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q; see extract --help", args[0])
}

func list(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(out)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprint(out, "Usage: extract list [--json]\n\nLists every module: what it owns, the module APIs it calls,\nthe events it publishes and the events it consumes.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *asJSON {
		type row struct {
			Name      string   `json:"name"`
			Summary   string   `json:"summary"`
			Schema    string   `json:"schema"`
			Calls     []string `json:"calls"`
			Publishes []string `json:"publishes"`
			Consumes  []string `json:"consumes"`
		}
		rows := make([]row, len(modules.All))
		for i, m := range modules.All {
			rows[i] = row{m.Name, m.Summary, m.Name, nonNil(m.Calls), nonNil(m.Publishes), nonNil(m.Consumes)}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tOWNS\tCALLS\tPUBLISHES\tCONSUMES")
	for _, m := range modules.All {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Summary, join(m.Calls), join(m.Publishes), join(m.Consumes))
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
