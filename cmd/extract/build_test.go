package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/surfaces"
)

func TestUsageMentionsBuild(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--help"}, &out, &out); err != nil || !strings.Contains(out.String(), "\n  build ") {
		t.Errorf("extract --help does not list build: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"build", "--help"}, &out, &out); err != nil ||
		!strings.Contains(out.String(), "Usage: extract build MODULE [-o PATH]") ||
		!strings.Contains(out.String(), strings.Join(surfaces.Names(), ", ")) {
		t.Errorf("extract build --help: %v\n%s", err, out.String())
	}
}

func TestBuildRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build"}, "missing MODULE"},
		{[]string{"build", "-o", "x"}, "missing MODULE"},
		{[]string{"build", "shipping"}, `unknown module "shipping"; the modules are: identity, catalog`},
		{[]string{"build", "payments", "ordering"}, "one MODULE only"},
		{[]string{"build", "payments", "-o", "x", "extra"}, "one MODULE only"},
		{[]string{"build", "payments", "-fast"}, "flag provided but not defined: -fast"},
	} {
		var out bytes.Buffer
		err := run(tc.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestPlanBuild(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(wd))
	dir := t.TempDir()
	for _, tc := range []struct {
		output string
		race   bool
		want   string // the binary
	}{
		{"", false, filepath.Join(wd, "payments")},
		{"bin/pay", false, filepath.Join(wd, "bin", "pay")},
		{filepath.Join(dir, "pay"), true, filepath.Join(dir, "pay")},
		{dir, false, filepath.Join(dir, "payments")}, // an existing folder
	} {
		p, err := planBuild(wd, "payments", tc.output, tc.race)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"build", "-tags", "extract,extract_payments"}
		if tc.race {
			args = append(args, "-race")
		}
		args = append(args, "-o", tc.want, "./cmd/app")
		if p.root != root || p.output != tc.want || !slices.Equal(p.args, args) {
			t.Errorf("-o %q -race=%v: got root %s, output %s, go %v; want %s, %s, go %v",
				tc.output, tc.race, p.root, p.output, p.args, root, tc.want, args)
		}
	}
}

func TestFindRoot(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := findRoot(filepath.Join(wd, "testdata", "not", "there")); err != nil || got != filepath.Dir(filepath.Dir(wd)) {
		t.Errorf("from a folder under cmd/extract: %q, %v", got, err)
	}

	outside := t.TempDir()
	if _, err := findRoot(outside); err == nil || !strings.Contains(err.Error(), "no go.mod in "+outside+" or any folder above it") {
		t.Errorf("outside any repository: %v", err)
	}
	if err := os.WriteFile(filepath.Join(outside, "go.mod"), []byte("module example.com/other\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := findRoot(outside); err == nil || !strings.Contains(err.Error(), "declares module example.com/other, not github.com/modmono/shop") {
		t.Errorf("in another Go module: %v", err)
	}
}

// TestExtractedBinariesLinkOnlyTheirModule checks, with go list, what the
// build tags of `extract build MODULE` link into cmd/app: MODULE's own
// packages and migrations, and of every other module only its surface
// package. The plain build (the monolith) links every module; the tag
// extract alone (a pure gateway) links none.
func TestExtractedBinariesLinkOnlyTheirModule(t *testing.T) {
	all := surfaces.Names()
	cases := []struct {
		name   string
		tags   string
		linked []string // the modules whose code must be linked; the rest must not be
	}{
		{"monolith", "", all},
		{"gateway", "extract", nil},
	}
	for _, m := range all {
		cases = append(cases, struct {
			name   string
			tags   string
			linked []string
		}{m, "extract,extract_" + m, []string{m}})
	}
	root := filepath.Join("..", "..")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			deps := goListDeps(t, root, tc.tags)
			for _, m := range all {
				if slices.Contains(tc.linked, m) {
					for _, want := range []string{"modules/" + m, "migrations/" + m} {
						if !slices.Contains(deps.pkgs, want) {
							t.Errorf("-tags %q does not link %s", tc.tags, want)
						}
					}
					if !slices.ContainsFunc(deps.pkgs, func(p string) bool { return strings.HasPrefix(p, "modules/"+m+"/internal/") }) {
						t.Errorf("-tags %q links no package under modules/%s/internal/", tc.tags, m)
					}
					continue
				}
				for _, p := range deps.pkgs {
					if ownedBy(p, m) && p != "modules/"+m+"/"+m+"api" {
						t.Errorf("-tags %q links %s, imported by %s: of module %s only its surface modules/%s/%sapi may be linked",
							tc.tags, p, strings.Join(deps.importers[p], ", "), m, m, m)
					}
				}
			}
		})
	}
}

// ownedBy reports whether the package p, relative to the module path, is
// module m's: modules/m, anything under it, or its migrations.
func ownedBy(p, m string) bool {
	for _, dir := range []string{"modules/" + m, "migrations/" + m} {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// deps are the packages of the repository that a build links, relative to
// the module path, and the packages that import each.
type deps struct {
	pkgs      []string
	importers map[string][]string
}

func goListDeps(t *testing.T, root, tags string) deps {
	t.Helper()
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "./cmd/app")...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	d := deps{importers: map[string][]string{}}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, ok := strings.CutPrefix(fields[0], modulePath+"/")
		if !ok {
			continue
		}
		d.pkgs = append(d.pkgs, pkg)
		for _, imp := range fields[1:] {
			if imp, ok := strings.CutPrefix(imp, modulePath+"/"); ok {
				d.importers[imp] = append(d.importers[imp], pkg)
			}
		}
	}
	if !slices.Contains(d.pkgs, "cmd/app") {
		t.Fatalf("go %s lists no cmd/app:\n%s", strings.Join(args, " "), out)
	}
	return d
}

// TestBuildMakesARunnableSingleModuleBinary runs `extract build` for one
// module and the binary's --help, which names the modules it contains.
func TestBuildMakesARunnableSingleModuleBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a binary; skipped with -short")
	}
	t.Parallel()
	const module = "notifications"
	bin := filepath.Join(t.TempDir(), "out", module)
	var stdout, stderr bytes.Buffer
	if err := run([]string{"build", module, "-o", bin}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "built "+bin+": module "+module) {
		t.Errorf("extract build says:\n%s", stdout.String())
	}
	cmd := exec.Command(bin, "--help")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", bin, err, out)
	}
	if !strings.Contains(string(out), "This binary contains the modules: "+module+".\n") {
		t.Errorf("%s --help does not say it contains only %s:\n%s", bin, module, out)
	}
}
