package doccheck_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/mdblock"
	"github.com/modmono/shop/modules"
)

// commandsDoc documents the commands and the make targets.
const commandsDoc = "docs/commands.md"

// maxReadmeLines keeps README.md a front door: the manual is under docs/.
const maxReadmeLines = 200

// elsewhere are pages other branches of this repository write; links to
// them are expected to resolve once those are merged.
var elsewhere = []string{}

func TestMakeTargetsAreDocumented(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	targets := makeTargets(t, readFile(t, filepath.Join(root, "Makefile")))
	doc := readFile(t, filepath.Join(root, commandsDoc))
	for _, target := range targets {
		if !strings.Contains(doc, "`make "+target) {
			t.Errorf("%s does not document the make target %s (write it as `make %s`)", commandsDoc, target, target)
		}
	}
}

// makeTargets returns the targets of the Makefile's .PHONY list and those
// with a "## help" comment.
func makeTargets(t *testing.T, makefile string) []string {
	t.Helper()
	var targets []string
	add := func(name string) {
		if name != "" && !slices.Contains(targets, name) {
			targets = append(targets, name)
		}
	}
	help := regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):.*## `)
	for _, m := range help.FindAllStringSubmatch(makefile, -1) {
		add(m[1])
	}
	for line := range strings.Lines(makefile) {
		if rest, ok := strings.CutPrefix(line, ".PHONY:"); ok {
			for _, name := range strings.Fields(rest) {
				add(name)
			}
		}
	}
	if len(targets) < 5 {
		t.Fatalf("found only %d make targets; has the Makefile's style changed?", len(targets))
	}
	return targets
}

func TestCommandsAreDocumented(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	doc := readFile(t, filepath.Join(root, commandsDoc))
	app := []string{"serve", "migrate"}
	for _, m := range modules.All {
		for _, c := range m.Commands {
			app = append(app, c.Name)
		}
	}
	for _, c := range app {
		if !strings.Contains(doc, "`app "+c) {
			t.Errorf("%s does not document the command app %s (write it as `app %s`)", commandsDoc, c, c)
		}
	}
	extract, err := extractCommands(filepath.Join(root, "cmd", "extract", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range extract {
		if !strings.Contains(doc, "`extract "+c) {
			t.Errorf("%s does not document the command extract %s (write it as `extract %s`)", commandsDoc, c, c)
		}
	}
}

// extractCommands returns the names of cmd/extract's commands: the first
// field of each element of the slice its commands function returns.
func extractCommands(file string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "commands" {
			continue
		}
		ast.Inspect(fd, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok || len(cl.Elts) != 3 {
				return true
			}
			if lit, ok := cl.Elts[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				name, _ := strconv.Unquote(lit.Value)
				names = append(names, name)
			}
			return true
		})
	}
	if len(names) < 3 {
		return nil, fmt.Errorf("%s: found %d commands in func commands; has its style changed?", file, len(names))
	}
	return names, nil
}

// docFiles returns README.md and every Markdown file under docs/, relative
// to the root.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

func TestLinksResolve(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, file := range docFiles(t, root) {
		for _, m := range mdLink.FindAllStringSubmatch(readFile(t, filepath.Join(root, file)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			path := filepath.ToSlash(filepath.Join(filepath.Dir(file), target))
			if slices.Contains(elsewhere, path) {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, path)); err != nil {
				t.Errorf("%s links to %s, which does not exist", file, m[1])
			}
		}
	}
}

func TestReadmeIsAFrontDoor(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "README.md"))
	if n := strings.Count(readme, "\n"); n > maxReadmeLines {
		t.Errorf("README.md has %d lines; keep it under %d and move the details to a page under docs/", n, maxReadmeLines)
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(pages, elsewhere...) {
		rel, _ := filepath.Rel(root, p)
		if filepath.IsAbs(p) {
			p = filepath.ToSlash(rel)
		}
		if strings.HasSuffix(p, ".md") && !strings.Contains(readme, "]("+p+")") {
			t.Errorf("README.md's map of the docs does not link %s", p)
		}
	}
	for _, want := range []string{"make run", "make test", "docs/screenshots/home.png", "docs/screenshots/console.png", "/console", "/metrics", "/api/openapi.json", "make run-extracted"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
}

var (
	literalID   = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	placeholder = regexp.MustCompile(`…|\.\.\.|<[a-z][a-z _-]*>`)
)

// TestCommandsPasteAsIs requires the shell blocks of README.md and docs/ to
// hold no literal ID (capture it into a variable instead), no ellipsis and
// no <placeholder>: whoever pastes them runs them as they are.
func TestCommandsPasteAsIs(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, file := range docFiles(t, root) {
		for _, b := range mdblock.Blocks(readFile(t, filepath.Join(root, file))) {
			if b.Info != "sh" {
				continue
			}
			for i, line := range strings.Split(b.Body, "\n") {
				if id := literalID.FindString(line); id != "" {
					t.Errorf("%s:%d: a command holds the literal ID %s; capture it into a shell variable (jq -r)", file, b.Line+1+i, id)
				}
				if p := placeholder.FindString(line); p != "" {
					t.Errorf("%s:%d: a command holds %q; write the command in full", file, b.Line+1+i, p)
				}
			}
		}
	}
}
