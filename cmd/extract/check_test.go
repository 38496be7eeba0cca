package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// The boundary checks run the architecture rules: clean on a clean tree,
// failing for both modules when one imports the other's wiring.
func TestBoundaryChecks(t *testing.T) {
	fixtures := filepath.Join("..", "..", "internal", "archtest", "testdata")
	for _, r := range boundaryChecks(filepath.Join(fixtures, "clean"), "beta") {
		if !r.ok {
			t.Errorf("clean tree: %+v", r)
		}
	}
	seeded := t.TempDir()
	for _, src := range []string{"clean", filepath.Join("violations", "wiring_import")} {
		if err := os.CopyFS(seeded, os.DirFS(filepath.Join(fixtures, src))); err != nil {
			t.Fatal(err)
		}
	}
	for _, module := range []string{"beta", "alpha"} {
		rs := boundaryChecks(seeded, module)
		if rs[0].ok || !strings.Contains(rs[0].detail, "modules/beta/internal/app/wiring.go:3: imports example.com/shop/modules/alpha") || !rs[1].ok {
			t.Errorf("%s in a tree where beta imports alpha's wiring: %+v", module, rs)
		}
	}
}

// check on this repository passes for payments, contract suite included.
func TestCheckPassesOnThisTree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	var out, errs bytes.Buffer
	if err := run([]string{"check", "payments"}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errs.String())
	}
	if got := strings.Count(out.String(), "\nok  "); got != 4 || !strings.HasPrefix(out.String(), "ok  ") {
		t.Errorf("want 5 ok lines:\n%s", out.String())
	}
}

// With --database, check reads the module's role and tables there, and
// fails when the role can reach another module's schema.
func TestCheckDatabase(t *testing.T) {
	plain := pgtest.NewDatabase(t)
	dsn := plain + "&pool_max_conns=2" // as a DATABASE_URL may be
	ctx := context.Background()
	for _, name := range []string{"payments", "catalog"} {
		db, err := pgxdb.Open(ctx, dsn, name, modkit.MigrationSets(definition(name).Migrations), zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	rs := databaseChecks(ctx, dsn, "payments")
	if len(rs) != 2 || !rs[0].ok || !rs[1].ok || !strings.Contains(rs[1].detail, "outbox 0, inbox 0, dead_letters 0, events 0") {
		t.Fatalf("a fresh database: %+v", rs)
	}

	conn, err := pgx.Connect(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	role, err := pgxdb.ModuleRole(ctx, conn, "payments")
	if err != nil {
		t.Fatal(err)
	}
	r := pgx.Identifier{role}.Sanitize()
	if _, err := conn.Exec(ctx, `GRANT USAGE ON SCHEMA catalog TO `+r+`; GRANT SELECT ON catalog.products TO `+r); err != nil {
		t.Fatal(err)
	}
	rs = databaseChecks(ctx, dsn, "payments")
	if rs[0].ok || !strings.Contains(rs[0].detail, role+" can reach outside its schema") || !strings.Contains(rs[0].detail, "catalog.products") {
		t.Errorf("a role granted another schema: %+v", rs[0])
	}
	if rs := databaseChecks(ctx, dsn, "identity"); rs[len(rs)-1].ok || !strings.Contains(rs[len(rs)-1].detail, "has no schema identity") {
		t.Errorf("a module that never ran there: %+v", rs)
	}
	if rs := databaseChecks(ctx, "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", "payments"); len(rs) != 1 || rs[0].ok {
		t.Errorf("an unreachable database: %+v", rs)
	}
}
