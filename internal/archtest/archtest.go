package archtest

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Violation is one boundary crossing. File is slash-separated and relative
// to the repository root; Line is 0 when the violation concerns a whole
// folder.
type Violation struct {
	File string
	Line int
	Msg  string
}

// String formats the violation as file:line: message.
func (v Violation) String() string {
	if v.Line == 0 {
		return v.File + ": " + v.Msg
	}
	return fmt.Sprintf("%s:%d: %s", v.File, v.Line, v.Msg)
}

// sealed lists the top-level folders that a surface package and platform/
// must not import: they hold business logic, schemas and the application.
var sealed = []string{"modules", "migrations", "cmd", "web"}

// sqlKeyword decides whether a Go string literal is SQL worth scanning.
var sqlKeyword = regexp.MustCompile(`(?i)\b(select|insert|update|delete|from|join|create|alter|grant|references|truncate)\b`)

// checker holds what every rule needs to know about the tree.
type checker struct {
	root    string
	modPath string                    // the Go module path, from go.mod
	modules []string                  // the folder names under modules/, sorted
	others  map[string]*regexp.Regexp // per module: references to the other modules' schemas
	all     *regexp.Regexp            // references to any module's schema
	fset    *token.FileSet
}

// Check runs every rule on the Go module rooted at root (the folder holding
// go.mod) and returns the violations sorted by file and line. An error means
// the tree could not be read or parsed, not that a rule was broken.
func Check(root string) ([]Violation, error) {
	modPath, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	modules, err := subfolders(filepath.Join(root, "modules"))
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("archtest: no module folders under %s", filepath.Join(root, "modules"))
	}
	c := &checker{
		root:    root,
		modPath: modPath,
		modules: modules,
		others:  map[string]*regexp.Regexp{},
		all:     schemaRefs(modules),
		fset:    token.NewFileSet(),
	}
	for _, m := range modules {
		c.others[m] = schemaRefs(slices.DeleteFunc(slices.Clone(modules), func(o string) bool { return o == m }))
	}

	vs, err := c.layout()
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipped(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch path.Ext(rel) {
		case ".go":
			f, err := parser.ParseFile(c.fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return fmt.Errorf("archtest: %w", err)
			}
			vs = append(vs, c.imports(rel, f)...)
			vs = append(vs, c.goSQL(rel, f)...)
		case ".sql":
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if re, msg := c.sqlRule(rel); re != nil && msg != nil {
				vs = append(vs, c.sqlRefs(rel, 1, string(data), true, re, msg)...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(vs, func(a, b Violation) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.Msg, b.Msg)
	})
	return vs, nil
}

// layout reports modules lacking their surface package or their migrations
// folder, and migrations folders that belong to no module.
func (c *checker) layout() ([]Violation, error) {
	var vs []Violation
	for _, m := range c.modules {
		surface := surfaceOf(m)
		ok, err := hasGoFiles(filepath.Join(c.root, filepath.FromSlash(surface)))
		if err != nil {
			return nil, err
		}
		if !ok {
			vs = append(vs, Violation{File: "modules/" + m, Msg: fmt.Sprintf(
				"module %s has no surface package %s: other modules reach it only through that package", m, surface)})
		}
		if st, err := os.Stat(filepath.Join(c.root, "migrations", m)); err != nil || !st.IsDir() {
			vs = append(vs, Violation{File: "modules/" + m, Msg: fmt.Sprintf(
				"module %s has no migrations folder migrations/%s: every module owns its schema and creates it with its own migrations", m, m)})
		}
	}
	migrations, err := subfolders(filepath.Join(c.root, "migrations"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, m := range migrations {
		if !slices.Contains(c.modules, m) {
			vs = append(vs, Violation{File: "migrations/" + m, Msg: fmt.Sprintf(
				"migrations/%s belongs to no module: there is no modules/%s", m, m)})
		}
	}
	return vs, nil
}

// imports reports the imports of the file rel that cross a boundary.
func (c *checker) imports(rel string, f *ast.File) []Violation {
	var vs []Violation
	for _, spec := range f.Imports {
		ip, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		msg := c.importRule(path.Dir(rel), ip)
		if msg == "" && !strings.HasSuffix(rel, "_test.go") {
			msg = layerRule(path.Dir(rel), strings.TrimPrefix(ip, c.modPath+"/"))
		}
		if msg != "" {
			vs = append(vs, Violation{
				File: rel,
				Line: c.fset.Position(spec.Pos()).Line,
				Msg:  "imports " + ip + ": " + msg,
			})
		}
	}
	return vs
}

// importRule returns why the package in folder from may not import ip, or
// "" if it may. Each import is reported under one rule only.
func (c *checker) importRule(from, ip string) string {
	to, ok := strings.CutPrefix(ip, c.modPath+"/")
	if !ok {
		return "" // the standard library or another Go module
	}
	fromTop, fromMod := place(from)
	toTop, toMod := place(to)

	// Rule 2: a surface package is a leaf.
	if fromTop == "modules" && fromMod != "" && from == surfaceOf(fromMod) && slices.Contains(sealed, toTop) {
		return fmt.Sprintf("the surface package %s must be a leaf: it may not import anything under modules/, migrations/, cmd/ or web/",
			path.Base(from))
	}
	// Rule 3: platform/ holds technical building blocks only.
	if fromTop == "platform" && slices.Contains(sealed, toTop) {
		return "platform/ holds technical building blocks and may not import anything under modules/, migrations/, cmd/ or web/"
	}
	inModule := fromTop == "modules" && fromMod != ""
	switch toTop {
	case "modules":
		// Rule 1: only another module's surface crosses the boundary.
		if inModule && toMod == "" {
			return "a module may not import the module registry: only the application assembles modules"
		}
		if inModule && toMod != fromMod && to != surfaceOf(toMod) {
			return fmt.Sprintf("a module may import only another module's surface package %s", toMod+"api")
		}
	case "migrations":
		// Rule 4: a schema's migrations belong to its module. Code that
		// assembles every module (cmd/, the registry package modules/
		// itself, repository-wide tests under internal/) may import them all.
		registry := fromTop == "modules" && fromMod == ""
		if toMod != "" && toMod != fromMod && !registry && slices.Contains([]string{"modules", "migrations", "web"}, fromTop) {
			return fmt.Sprintf("migrations/%s may be imported only by its own module (modules/%s) and by cmd/", toMod, toMod)
		}
	}
	return ""
}

// storageDrivers are the import path prefixes of database drivers, which
// only a module's adapters use.
var storageDrivers = []string{"github.com/jackc/pgx/"}

// layerRule returns why the non-test package in folder from may not import
// ip (relative to the repository when it is one of its packages), or "" if
// it may. Rule 7: a module's layers depend inwards. Its application and
// domain layers (internal/app, internal/domain and below) know storage only
// through the interfaces they own: they use neither the database driver
// nor the module's adapters and ports, which implement and drive them; and
// the domain knows nothing of the application layer either.
func layerRule(from, ip string) string {
	top, m := place(from)
	if top != "modules" || m == "" {
		return ""
	}
	own := "modules/" + m + "/internal/"
	rest, ok := strings.CutPrefix(from, own)
	if !ok {
		return ""
	}
	layer, _, _ := strings.Cut(rest, "/")
	if layer != "app" && layer != "domain" {
		return ""
	}
	for _, d := range storageDrivers {
		if strings.HasPrefix(ip+"/", d) {
			return fmt.Sprintf("the %s layer of module %s may not use the database driver: declare the interface it needs there and implement it under internal/adapters",
				layer, m)
		}
	}
	if target, ok := strings.CutPrefix(ip, own); ok {
		outer, _, _ := strings.Cut(target, "/")
		switch {
		case outer == "adapters" || outer == "ports":
			return fmt.Sprintf("the %s layer of module %s may not import its %s: they depend on it, not it on them; declare the interface it needs in internal/app",
				layer, m, outer)
		case layer == "domain" && outer == "app":
			return fmt.Sprintf("the domain layer of module %s may not import its application layer: the app depends on the domain, not the reverse", m)
		}
	}
	return ""
}

// sqlRule returns, for a file at rel, the references its SQL must not
// contain and the message describing one, or nil if its SQL is not checked.
func (c *checker) sqlRule(rel string) (*regexp.Regexp, func(ref, schema string) string) {
	top, m := place(path.Dir(rel))
	switch {
	case (top == "modules" || top == "migrations") && m != "" && slices.Contains(c.modules, m):
		return c.others[m], func(ref, schema string) string {
			return fmt.Sprintf("SQL references %s in schema %s: module %s may use only its own schema; reach %s through %sapi or its events",
				ref, schema, m, schema, schema)
		}
	case top == "platform":
		return c.all, func(ref, schema string) string {
			return fmt.Sprintf("SQL references %s in schema %s: platform SQL must be schema-agnostic and rely on search_path", ref, schema)
		}
	}
	return nil, nil
}

// goSQL reports the SQL string literals of the Go file rel that name a
// schema they may not use. A literal is SQL if it holds an SQL keyword, or
// if it is concatenated with one that does.
func (c *checker) goSQL(rel string, f *ast.File) []Violation {
	re, msg := c.sqlRule(rel)
	if re == nil || msg == nil {
		return nil
	}
	var vs []Violation
	skip := map[*ast.BasicLit]bool{}  // struct tags
	isSQL := map[*ast.BasicLit]bool{} // parts of a concatenation holding SQL
	for _, decl := range f.Decls {
		if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			continue
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				if n.Tag != nil {
					skip[n.Tag] = true
				}
			case *ast.BinaryExpr:
				parts := concatenated(n)
				if slices.ContainsFunc(parts, func(l *ast.BasicLit) bool { return sqlKeyword.MatchString(unquote(l)) }) {
					for _, l := range parts {
						isSQL[l] = true
					}
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING || skip[n] {
					return true
				}
				text := unquote(n)
				if isSQL[n] || sqlKeyword.MatchString(text) {
					line := c.fset.Position(n.Pos()).Line
					vs = append(vs, c.sqlRefs(rel, line, text, n.Value[0] == '`', re, msg)...)
				}
			}
			return true
		})
	}
	return vs
}

// sqlRefs reports every match of re in text, which starts at line first of
// rel. Line numbers inside text are counted only if multiline is set (raw
// strings and .sql files); an interpreted string's \n is no source line.
func (c *checker) sqlRefs(rel string, first int, text string, multiline bool, re *regexp.Regexp, msg func(ref, schema string) string) []Violation {
	var vs []Violation
	for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
		line := first
		if multiline {
			line += strings.Count(text[:m[2]], "\n")
		}
		ref := text[m[2]:m[3]]
		schema := strings.ToLower(text[m[4]:m[5]])
		vs = append(vs, Violation{File: rel, Line: line, Msg: msg(ref, schema)})
	}
	return vs
}

// schemaRefs returns a regular expression matching a qualified reference to
// one of the schemas, such as inventory.stock or "inventory".stock, case
// insensitively; group 1 is the reference and group 2 the schema. It returns
// nil for no schemas.
func schemaRefs(schemas []string) *regexp.Regexp {
	if len(schemas) == 0 {
		return nil
	}
	quoted := make([]string, len(schemas))
	for i, s := range schemas {
		quoted[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile(`(?i)(?:^|[^\w$])("?(` + strings.Join(quoted, "|") + `)"?\s*\.\s*"?[\w$]+)`)
}

// concatenated returns the string literals of a chain of + operations, or
// nil if e is not one.
func concatenated(e ast.Expr) []*ast.BasicLit {
	switch e := e.(type) {
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return append(concatenated(e.X), concatenated(e.Y)...)
		}
	case *ast.ParenExpr:
		return concatenated(e.X)
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			return []*ast.BasicLit{e}
		}
	}
	return nil
}

// unquote returns the value of a string literal, or "" if it is malformed.
func unquote(l *ast.BasicLit) string {
	s, err := strconv.Unquote(l.Value)
	if err != nil {
		return ""
	}
	return s
}

// place splits a slash-separated path relative to the root into its top
// folder and, under modules/ or migrations/, the module it belongs to.
func place(rel string) (top, module string) {
	parts := strings.Split(rel, "/")
	if len(parts) >= 2 && (parts[0] == "modules" || parts[0] == "migrations") {
		return parts[0], parts[1]
	}
	return parts[0], ""
}

// surfaceOf returns the folder of module m's surface package.
func surfaceOf(m string) string { return "modules/" + m + "/" + m + "api" }

// skipped reports whether the go tool ignores folders of this name.
func skipped(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
		name == "testdata" || name == "vendor" || name == "node_modules"
}

// subfolders returns the sorted names of the folders in dir that the go
// tool does not ignore.
func subfolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !skipped(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// hasGoFiles reports whether dir holds a Go file other than a test.
func hasGoFiles(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return true, nil
		}
	}
	return false, nil
}

// modulePath returns the module path declared by root/go.mod.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" {
			if p, err := strconv.Unquote(f[1]); err == nil {
				return p, nil
			}
			return f[1], nil
		}
	}
	return "", fmt.Errorf("archtest: no module line in %s", filepath.Join(root, "go.mod"))
}
