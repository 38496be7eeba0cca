// Package guide renders what the extraction tool tells a person from the
// modules' declared facts (modkit.Surface and the migrations): the
// migration guide of each module (`extract plan`, docs/migrations/<m>.md)
// and the context map of the whole system (docs/context-map.md). Nothing in
// them is written by hand, so they cannot drift from the code: a test
// renders them again and fails when a checked-in copy differs.
package guide

import (
	"bytes"
	_ "embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/modmono/shop/platform/modkit"
)

// Table is one table of a module's schema.
type Table struct {
	Name  string
	Rows  int64 // counted in a live database (Facts.Counted)
	Bytes int64 // its size there, indexes and TOAST included
}

// Facts is everything a module's guide says, derived from the system's
// surfaces and, optionally, a live database.
type Facts struct {
	Module modkit.Surface
	All    []modkit.Surface // every module, in start-up order
	Tables []Table          // the tables of its schema
	// Counted is true when Tables carry row counts and sizes read from
	// Database (a description of it without credentials).
	Counted  bool
	Database string
}

// TablesOf returns the tables the migrations create, in order: the
// platform's messaging tables first, then the module's own.
func TablesOf(module fs.FS) ([]Table, error) {
	var tables []Table
	for _, set := range modkit.MigrationSets(module) {
		files, err := fs.Glob(set.FS, "*.sql")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			sql, err := fs.ReadFile(set.FS, f)
			if err != nil {
				return nil, err
			}
			for _, m := range createTable.FindAllSubmatch(sql, -1) {
				tables = append(tables, Table{Name: string(m[1])})
			}
		}
	}
	return tables, nil
}

var createTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)

// MonolithPort and the ports after it are where the guides run the
// monolith and each module's own binary on one machine.
const MonolithPort = 8080

// Port is where the guides run module's own binary: 8081 for the first
// module in start-up order, and so on (as scripts/topology.sh does).
func Port(all []modkit.Surface, module string) int {
	return MonolithPort + 1 + slices.IndexFunc(all, func(s modkit.Surface) bool { return s.Name == module })
}

//go:embed plan.md.tmpl
var planTemplate string

var plan = template.Must(template.New("plan").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"join":  func(s []string, sep string) string { return strings.Join(s, sep) },
	"code":  code,
	"size":  size,
}).Parse(planTemplate))

// Plan renders the migration guide of f.Module.
func Plan(f Facts) ([]byte, error) {
	var b bytes.Buffer
	if err := plan.Execute(&b, newView(f)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// view is what the template reads: the facts, derived once.
type view struct {
	Facts
	Name, Upper string
	CalledBy    []string
	Others      []string // every other module, each reached at APP_REMOTE_<OTHER>
	Publishes   []flow   // each event type it publishes, with its consumers
	Consumes    []flow   // each event type it consumes, with its publisher
	Port        int
	WithoutTags string // the build tags of the monolith without the module
}

// flow is one event type crossing the module's boundary.
type flow struct {
	Type    string
	Modules []string // its consumers, or its publisher
}

func newView(f Facts) view {
	v := view{Facts: f, Name: f.Module.Name, Upper: strings.ToUpper(f.Module.Name),
		CalledBy: modkit.CalledBy(f.All, f.Module.Name), Port: Port(f.All, f.Module.Name)}
	tags := []string{"extract"}
	for _, s := range f.All {
		if s.Name != f.Module.Name {
			v.Others = append(v.Others, s.Name)
			tags = append(tags, "extract_"+s.Name)
		}
	}
	v.WithoutTags = strings.Join(tags, ",")
	v.Publishes = flows(f.Module.Publishes(), f.All, modkit.Surface.Consumes)
	v.Consumes = flows(f.Module.Consumes(), f.All, modkit.Surface.Publishes)
	return v
}

// flows pairs each event type with the modules of all whose side(s) lists
// it: its consumers, or its publisher.
func flows(types []string, all []modkit.Surface, side func(modkit.Surface) []string) []flow {
	out := make([]flow, len(types))
	for i, typ := range types {
		out[i].Type = typ
		for _, s := range all {
			if slices.Contains(side(s), typ) {
				out[i].Modules = append(out[i].Modules, s.Name)
			}
		}
	}
	return out
}

// code formats names as a list of inline code, or "none".
func code(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

func size(bytes int64) string {
	switch {
	case bytes >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(bytes)/(1<<30))
	case bytes >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", bytes>>10)
	}
}

// ContextMap renders the context map of the system as a Mermaid flowchart:
// a node per module, a solid arrow per synchronous call, a dotted arrow per
// event type from its publisher to each consumer.
func ContextMap(all []modkit.Surface) []byte {
	var b bytes.Buffer
	b.WriteString("# Context map\n\n" +
		"Generated by `go test ./internal/guide -update` from each module's `modkit.Surface`; do not\n" +
		"edit it by hand. A solid arrow is a synchronous call of the other module's API (in process, or\n" +
		"over HTTP once the callee is extracted); a dotted arrow is an event type, from its publisher\n" +
		"to a consumer (the in-process bus, or RabbitMQ). Every module owns its schema of the same name.\n" +
		"`go run ./cmd/extract list` prints the same facts; [events.md](events.md) lists every event's fields.\n\n")
	b.WriteString("```mermaid\nflowchart LR\n")
	for _, s := range all {
		fmt.Fprintf(&b, "    %s[\"<b>%s</b><br/>%s\"]\n", s.Name, s.Name, s.Summary)
	}
	for _, s := range all {
		for _, c := range s.Calls {
			fmt.Fprintf(&b, "    %s -->|calls| %s\n", s.Name, c)
		}
	}
	for _, s := range all {
		for _, typ := range s.Publishes() {
			for _, c := range all {
				if slices.Contains(c.Consumes(), typ) && c.Name != s.Name {
					fmt.Fprintf(&b, "    %s -.->|%s| %s\n", s.Name, strings.TrimPrefix(typ, s.Name+"."), c.Name)
				}
			}
		}
	}
	b.WriteString("```\n\n")
	b.WriteString("| Module | Calls | Called by | Publishes | Consumes |\n|---|---|---|---|---|\n")
	for _, s := range all {
		fmt.Fprintf(&b, "| [%s](../modules/%s/README.md) | %s | %s | %s | %s |\n", s.Name, s.Name,
			code(s.Calls), code(modkit.CalledBy(all, s.Name)), code(s.Publishes()), code(s.Consumes()))
	}
	b.WriteString("\nA module consuming its own events (ordering's read model) is not drawn as an arrow.\n" +
		"How to move a module out: [migrations/](migrations/), one guide per module.\n")
	return b.Bytes()
}
