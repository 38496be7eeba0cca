package archtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBoundaries runs every rule on the repository this package lives in.
func TestBoundaries(t *testing.T) {
	root := repoRoot(t)
	vs, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Error(v)
	}
	if len(vs) > 0 {
		t.Logf("%d boundary violation(s); see the package documentation of internal/archtest for the rules", len(vs))
	}
}

// TestCheckerCatchesViolations proves that each rule fails when its boundary
// is crossed. Every case copies the clean fixture tree, adds the files of
// testdata/violations/<case>/ on top and expects exactly the listed
// violations, each given by a prefix of its text.
func TestCheckerCatchesViolations(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		vs, err := Check(filepath.Join("testdata", "clean"))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			t.Errorf("clean fixture: unexpected violation %s", v)
		}
	})

	cases := []struct {
		name string
		want []string
	}{
		{"wiring_import", []string{
			"modules/beta/internal/app/wiring.go:3: imports example.com/shop/modules/alpha: a module may import only another module's surface package alphaapi",
		}},
		{"internal_import_in_test", []string{
			"modules/beta/internal/app/store_test.go:6: imports example.com/shop/modules/alpha/internal/store: a module may import only another module's surface package alphaapi",
		}},
		{"subpackage_import", []string{
			"modules/beta/internal/app/client.go:3: imports example.com/shop/modules/alpha/alphaapi/alphaclient: a module may import only another module's surface package alphaapi",
		}},
		{"registry_import", []string{
			"modules/beta/internal/app/all_test.go:6: imports example.com/shop/modules: a module may not import the module registry",
		}},
		{"surface_imports_surface", []string{
			"modules/alpha/alphaapi/link.go:3: imports example.com/shop/modules/beta/betaapi: the surface package alphaapi must be a leaf",
		}},
		{"surface_imports_migrations", []string{
			"modules/alpha/alphaapi/schema.go:3: imports example.com/shop/migrations/alpha: the surface package alphaapi must be a leaf",
		}},
		{"platform_imports_module", []string{
			"platform/db/names.go:3: imports example.com/shop/modules/alpha/alphaapi: platform/ holds technical building blocks",
		}},
		{"foreign_migrations", []string{
			"modules/beta/internal/app/schema_test.go:6: imports example.com/shop/migrations/alpha: migrations/alpha may be imported only by its own module (modules/alpha) and by cmd/",
		}},
		{"go_sql_cross_schema", []string{
			"modules/beta/internal/app/report.go:5: SQL references alpha.items in schema alpha: module beta may use only its own schema",
			`modules/beta/internal/app/report.go:7: SQL references "alpha".items in schema alpha: module beta may use only its own schema`,
		}},
		{"concatenated_sql", []string{
			"modules/beta/internal/app/count.go:5: SQL references ALPHA.items in schema alpha: module beta may use only its own schema",
		}},
		{"sql_file_cross_schema", []string{
			"migrations/beta/002_fk.sql:3: SQL references alpha.items in schema alpha: module beta may use only its own schema",
		}},
		{"platform_sql_names_module", []string{
			"platform/db/stats.go:3: SQL references beta.links in schema beta: platform SQL must be schema-agnostic",
		}},
		{"missing_surface", []string{
			"modules/gamma: module gamma has no surface package modules/gamma/gammaapi",
		}},
		{"missing_migrations", []string{
			"modules/gamma: module gamma has no migrations folder migrations/gamma",
		}},
		{"layers_outward", []string{
			"modules/beta/internal/app/service.go:3: imports example.com/shop/modules/beta/internal/adapters/pg: the app layer of module beta may not import its adapters",
			"modules/beta/internal/domain/rule.go:4: imports example.com/shop/modules/beta/internal/app: the domain layer of module beta may not import its application layer",
			"modules/beta/internal/domain/rule.go:5: imports example.com/shop/modules/beta/internal/ports/http: the domain layer of module beta may not import its ports",
		}},
		{"driver_in_app", []string{
			"modules/beta/internal/app/store.go:3: imports github.com/jackc/pgx/v5: the app layer of module beta may not use the database driver",
			"modules/beta/internal/domain/link.go:4: imports github.com/jackc/pgx/v5/pgtype: the domain layer of module beta may not use the database driver",
		}},
		{"orphan_migrations", []string{
			"migrations/zeta: migrations/zeta belongs to no module",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, src := range []string{"clean", filepath.Join("violations", tc.name)} {
				if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", src))); err != nil {
					t.Fatal(err)
				}
			}
			vs, err := Check(root)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(vs))
			for i, v := range vs {
				got[i] = v.String()
			}
			ok := len(got) == len(tc.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.HasPrefix(got[i], tc.want[i])
			}
			if !ok {
				t.Errorf("got violations:\n  %s\nwant (prefixes):\n  %s",
					strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// repoRoot returns the repository's folder: go test runs a package's tests
// in the package's folder, two levels below it.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
