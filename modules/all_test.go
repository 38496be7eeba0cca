package modules_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/modules"
)

// A plain build (no extract tags) links every module, in start-up order,
// whatever the order in which the <module>_module.go files register.
func TestPlainBuildLinksEveryModuleInStartUpOrder(t *testing.T) {
	if got, want := modules.Names(), surfaces.Names(); !slices.Equal(got, want) {
		t.Fatalf("modules.Names() = %v, want %v", got, want)
	}
}

// The surfaces hold together: every event consumed is published by some
// module, and every consumer is named after its module.
func TestSurfacesAreConsistent(t *testing.T) {
	published := map[string]string{}
	for _, s := range surfaces.All {
		for _, typ := range s.Publishes() {
			published[typ] = s.Name
		}
	}
	for _, s := range surfaces.All {
		for _, c := range s.Consumers {
			if published[c.Topic] == "" {
				t.Errorf("%s: consumer %s reads %q, which no module publishes", s.Name, c.Consumer, c.Topic)
			}
			if !strings.HasPrefix(c.Consumer, s.Name+".") {
				t.Errorf("%s: consumer %q is not named after its module (%s.<what it does>)", s.Name, c.Consumer, s.Name)
			}
		}
	}
}

// A module's Calls are the module APIs its code asks for: the <other>api.API
// types named in its non-test Go files, outside its own surface package.
func TestCallsAreTheAPIsTheCodeUses(t *testing.T) {
	for _, s := range surfaces.All {
		used := apisUsed(t, filepath.Join(".", s.Name), s.Name)
		calls := slices.Sorted(slices.Values(s.Calls))
		if !slices.Equal(used, calls) {
			t.Errorf("%s: its code uses the APIs of %v, its surface declares Calls %v", s.Name, used, calls)
		}
	}
}

// apisUsed returns the sorted names of the modules whose <m>api.API the Go
// files under dir name, except module's own.
func apisUsed(t *testing.T, dir, module string) []string {
	t.Helper()
	var used []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == module+"api":
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "API" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && strings.HasSuffix(pkg.Name, "api") {
				if m := strings.TrimSuffix(pkg.Name, "api"); m != module && !slices.Contains(used, m) {
					used = append(used, m)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(used)
	return used
}
