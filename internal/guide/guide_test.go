package guide_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/guide"
	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/modkit"
)

var update = flag.Bool("update", false, "rewrite the generated documents")

const root = "../.."

// Facts of module from the code alone, as docs/migrations holds them.
func factsOf(t *testing.T, module modkit.Definition) guide.Facts {
	t.Helper()
	tables, err := guide.TablesOf(module.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	return guide.Facts{Module: module.Surface, All: surfaces.All, Tables: tables}
}

// Each module's guide in docs/migrations is what extract plan prints.
func TestGuidesAreCurrent(t *testing.T) {
	for _, m := range modules.All {
		want, err := guide.Plan(factsOf(t, m))
		if err != nil {
			t.Fatal(err)
		}
		current(t, filepath.Join("docs", "migrations", m.Name+".md"), want)
	}
}

func TestContextMapIsCurrent(t *testing.T) {
	current(t, filepath.Join("docs", "context-map.md"), guide.ContextMap(surfaces.All))
}

// current fails when the file at rel differs from want, or writes want
// there with -update.
func current(t *testing.T, rel string, want []byte) {
	t.Helper()
	path := filepath.Join(root, rel)
	got, err := os.ReadFile(path)
	if bytes.Equal(got, want) {
		return
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v; run go test ./internal/guide -update", rel, err)
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("%s is stale at line %d:\n  has:  %s\n  want: %s\nrun go test ./internal/guide -update", rel, i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("%s is stale (%d lines, want %d); run go test ./internal/guide -update", rel, len(gl), len(wl))
}

// The guide names the module's facts: who calls it, its events and its
// tables, and every variable the extracted binary needs.
func TestPlanNamesTheFacts(t *testing.T) {
	for _, m := range modules.All {
		if m.Name != "ordering" {
			continue
		}
		out, err := guide.Plan(factsOf(t, m))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"| calls (synchronously, through their API) | `catalog`, `inventory`, `payments` |",
			"`ordering.order_confirmed` → `ordering`, `notifications`",
			"`identity.user_registered` ← `identity`",
			"- `outbox`", "- `sagas`",
			"APP_REMOTE_PAYMENTS=$MONOLITH", "ORDERING_DATABASE_URL=\"$ORDERING_DB\"", "ORDERING_PORT:-8085",
			"go build -tags extract,extract_identity,extract_catalog,extract_inventory,extract_payments,extract_notifications -o \"$SHOP_RUN/app\" ./cmd/app",
		} {
			if !strings.Contains(string(out), want) {
				t.Errorf("the ordering guide lacks %q", want)
			}
		}
		if strings.Contains(string(out), "APP_REMOTE_ORDERING=$MONOLITH") {
			t.Error("the ordering guide points the module at itself")
		}
	}
}

// A guide that names no database says how to get the counts; one that
// does shows them.
func TestPlanWithCountedTables(t *testing.T) {
	f := guide.Facts{Module: surfaces.All[0], All: surfaces.All, Counted: true, Database: "shop on 127.0.0.1:5432",
		Tables: []guide.Table{{Name: "users", Rows: 12, Bytes: 3 << 20}}}
	out, err := guide.Plan(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "| `users` | 12 | 3.0 MiB |") || !strings.Contains(string(out), "counted in shop on 127.0.0.1:5432") {
		t.Errorf("counted tables missing:\n%s", out)
	}
}
