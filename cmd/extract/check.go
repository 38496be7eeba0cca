package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/internal/archtest"
	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

const checkUsage = `Usage: extract check MODULE [--database DSN]

Checks that MODULE is ready to leave the monolith, one line per check, each
"ok" or "FAIL" with the detail:
  - no other module imports its internals, and it imports none of theirs;
  - it reaches the others only through their APIs and events (no SQL on
    another module's schema);
  - its contract suite passes in process and over HTTP (go test, so it runs
    inside the repository, against TEST_DATABASE_URL);
  - every event it publishes and consumes is a versioned contract whose
    checked-in schema its Go type satisfies.
With --database (the monolith's DATABASE_URL, say): its role cannot read or
write any other schema there, and its tables with their row counts.

Exit status 0 only when every check passes.
`

// checkResult is one line of the readiness report.
type checkResult struct {
	name   string
	ok     bool
	detail string
}

func check(args []string, stdout, stderr io.Writer) error {
	f := newFlags("check", checkUsage, stdout)
	dsn := f.String("database", "", "also check the module's role and tables in the database at `DSN`")
	module, err := f.parseModule(args)
	if err != nil {
		return err
	}
	failed := 0
	report := func(r checkResult) {
		word := "ok  "
		if !r.ok {
			word, failed = "FAIL", failed+1
		}
		fmt.Fprintf(stdout, "%s  %s: %s\n", word, r.name, r.detail)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, rootErr := findRoot(wd)
	if rootErr != nil {
		report(checkResult{"source", false, rootErr.Error()})
	} else {
		for _, r := range boundaryChecks(root, module) {
			report(r)
		}
		report(eventContracts(module))
		report(goTest(root, stderr, "contract suite",
			fmt.Sprintf("the API of %s behaves the same in process and over HTTP", module),
			"./internal/apicontract", "^Test"+strings.ToUpper(module[:1])+module[1:]+"$"))
		report(goTest(root, stderr, "event schemas",
			"every published event version still satisfies its checked-in JSON Schema",
			"./internal/contracts", "^TestEventSchemasAreCompatible$"))
	}
	if *dsn != "" {
		for _, r := range databaseChecks(context.Background(), *dsn, module) {
			report(r)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s is not ready to be extracted: %d check(s) failed", module, failed)
	}
	fmt.Fprintf(stdout, "%s is ready to be extracted: next, extract plan %s\n", module, module)
	return nil
}

// boundaryChecks runs the architecture rules (internal/archtest) on the
// source tree at root and reports those that concern module.
func boundaryChecks(root, module string) []checkResult {
	vs, err := archtest.Check(root)
	if err != nil {
		return []checkResult{{"boundaries", false, err.Error()}}
	}
	var imports, reaches []string
	for _, v := range vs {
		if !concerns(v, module) {
			continue
		}
		line := fmt.Sprintf("%s:%d: %s", v.File, v.Line, v.Msg)
		if strings.HasPrefix(v.Msg, "imports ") {
			imports = append(imports, line)
		} else {
			reaches = append(reaches, line)
		}
	}
	return []checkResult{
		result("imports", imports, fmt.Sprintf("no other module imports the internals of %s, and it imports only the others' surface packages", module)),
		result("reaches", reaches, fmt.Sprintf("%s reaches the others only through their APIs and events; no SQL names another module's schema", module)),
	}
}

// concerns tells whether v is about module: a file of its own, or another
// module reaching into it.
func concerns(v archtest.Violation, module string) bool {
	file := filepath.ToSlash(v.File) + "/"
	into := regexp.MustCompile(`/(modules|migrations)/` + regexp.QuoteMeta(module) + `(/|:|$)| in schema ` + regexp.QuoteMeta(module) + `:`)
	return strings.HasPrefix(file, "modules/"+module+"/") || strings.HasPrefix(file, "migrations/"+module+"/") || into.MatchString(v.Msg)
}

func result(name string, problems []string, fine string) checkResult {
	if len(problems) == 0 {
		return checkResult{name, true, fine}
	}
	return checkResult{name, false, strings.Join(problems, "; ")}
}

// eventContracts checks that every event type module publishes has a
// versioned Go type, and that every type it consumes is published, as a
// versioned contract, by some module.
func eventContracts(module string) checkResult {
	var problems, types []string
	for _, s := range surfaces.All {
		if s.Name == module {
			types = append(types, s.Publishes()...)
			for _, typ := range s.Consumes() {
				if !slices.ContainsFunc(surfaces.All, func(p modkit.Surface) bool { return slices.Contains(p.Publishes(), typ) }) {
					problems = append(problems, fmt.Sprintf("it consumes %s, which no module publishes as a versioned event", typ))
				}
				types = append(types, typ)
			}
		}
	}
	slices.Sort(types)
	return result("events", problems, fmt.Sprintf("%d event types it publishes or consumes are versioned contracts: %s",
		len(slices.Compact(types)), join(slices.Compact(types))))
}

// goTest runs one test of the repository at root and reports its outcome.
func goTest(root string, stderr io.Writer, name, fine, pkg, run string) checkResult {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return checkResult{name, false, "the go command is not on PATH: it runs the tests"}
	}
	args := []string{"test", "-count=1", "-run", run, pkg}
	if isTerminal(stderr) { // a failure's stderr is its one line (SPEC §8)
		fmt.Fprintf(stderr, "running go %s\n", strings.Join(args, " "))
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return checkResult{name, false, fmt.Sprintf("go %s failed: %s", strings.Join(args, " "), lastLines(out.String(), 6))}
	}
	if strings.Contains(out.String(), "no tests to run") {
		return checkResult{name, false, fmt.Sprintf("go %s ran no test", strings.Join(args, " "))}
	}
	return checkResult{name, true, fine}
}

// lastLines returns the last n non-empty lines of s, joined on one line.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && l != "FAIL" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// databaseChecks checks module's role and tables in the database at dsn.
func databaseChecks(ctx context.Context, dsn, module string) []checkResult {
	ctx, cancel := context.WithTimeout(ctx, 4*connectTimeout)
	defer cancel()
	conn, err := connect(ctx, dsn)
	if err != nil {
		return []checkResult{{"database", false, err.Error()}}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	where := describe(conn.Config())
	role, err := pgxdb.ModuleRole(ctx, conn, module)
	if err != nil {
		return []checkResult{{"role", false, err.Error()}}
	}
	results := []checkResult{roleIsolated(ctx, conn, role, module, where)}
	tables, err := schemaTables(ctx, conn, module)
	if err != nil {
		return append(results, checkResult{"tables", false, err.Error()})
	}
	counts := make([]string, len(tables))
	for i, t := range tables {
		counts[i] = fmt.Sprintf("%s %d", t.Name, t.Rows)
	}
	return append(results, checkResult{"tables", true, fmt.Sprintf("schema %s in %s: %s", module, where, strings.Join(counts, ", "))})
}

// roleIsolated checks that role can read, write or create nothing outside
// its own schema (and the system catalogs every role reads).
func roleIsolated(ctx context.Context, conn *pgx.Conn, role, module, where string) checkResult {
	if role == "" {
		return checkResult{"role", false, fmt.Sprintf("there is no schema %s, so no role of module %s, in %s: the module has never run there", module, module, where)}
	}
	rows, err := conn.Query(ctx, `
		SELECT n.nspname || '.' || c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
		  AND n.nspname <> $2 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		  AND has_schema_privilege($1, n.oid, 'USAGE')
		  AND has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
		UNION ALL
		SELECT n.nspname || ' (create)'
		FROM pg_namespace n
		WHERE n.nspname <> $2 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		  AND has_schema_privilege($1, n.oid, 'CREATE')
		ORDER BY 1`, role, module)
	if err != nil {
		return checkResult{"role", false, err.Error()}
	}
	reachable, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return checkResult{"role", false, err.Error()}
	}
	if len(reachable) > 0 {
		return checkResult{"role", false, fmt.Sprintf("%s can reach outside its schema in %s: %s", role, where, strings.Join(reachable, ", "))}
	}
	return checkResult{"role", true, fmt.Sprintf("%s can read, write and create nothing outside schema %s in %s", role, module, where)}
}
