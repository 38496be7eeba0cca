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

	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
)

// The pages that document the configuration and the routes.
const (
	configDoc = "docs/configuration.md"
	routesDoc = "docs/api.md"
)

// moduleVar stands for the module-name part of a per-module variable such as
// <MODULE>_DATABASE_URL, as docs/configuration.md writes it.
const moduleVar = "<MODULE>"

// apiPrefix is where host mounts every module's routes.
const apiPrefix = "/api/v1"

func TestConfigTableMatchesConfig(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	read := declaredVars()
	if len(read) == 0 {
		t.Fatal("process.Load read no environment variable; has the reader changed?")
	}
	table, err := configTable(readFile(t, filepath.Join(root, configDoc)))
	if err != nil {
		t.Fatal(err)
	}

	// The OpenTelemetry SDK's own variables have their page, with the
	// ones the SDK reads itself.
	tracing := readFile(t, filepath.Join(root, "docs", "tracing.md"))
	for _, name := range read {
		if strings.HasPrefix(name, "OTEL_") {
			if !strings.Contains(tracing, "`"+name+"`") {
				t.Errorf("docs/tracing.md lacks %s, which the process reads", name)
			}
			continue
		}
		if !slices.Contains(table, name) {
			t.Errorf("%s: the table of variables lacks %s, which the process or a module reads", configDoc, name)
		}
	}
	for _, name := range table {
		if (strings.HasPrefix(name, "APP_") || strings.HasSuffix(name, "_URL")) && !slices.Contains(read, name) {
			t.Errorf("%s: the table of variables lists %s, which neither platform/config nor any module reads", configDoc, name)
		}
	}
}

func TestRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "modules", "*", "internal", "ports", "httpport", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	apiDoc := readFile(t, filepath.Join(root, routesDoc))
	found := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		routes, err := fileRoutes(file)
		if err != nil {
			t.Error(err)
			continue
		}
		rel, _ := filepath.Rel(root, file)
		module := strings.Split(filepath.ToSlash(rel), "/")[1]
		moduleReadme := filepath.Join(root, "modules", module, "README.md")
		moduleDoc, err := os.ReadFile(moduleReadme)
		if err != nil {
			t.Errorf("module %s has no README.md: %v", module, err)
		}
		for _, r := range routes {
			found++
			want := r.doc()
			if !strings.Contains(apiDoc, want) {
				t.Errorf("%s does not mention %q, registered at %s", routesDoc, want, r.pos)
			}
			if moduleDoc != nil && !strings.Contains(string(moduleDoc), want) {
				t.Errorf("modules/%s/README.md does not mention %q, registered at %s", module, want, r.pos)
			}
		}
	}
	if found == 0 {
		t.Fatal("found no routes under modules/*/internal/ports/httpport; has the registration style changed?")
	}
}

// declaredVars returns the environment variables a process running every
// module reads, in dev and in prod: the process settings of platform/config
// and each module's own (modkit.Definition.Settings), as declared, read the
// way cmd/app reads them. A module's name in a variable is written
// <MODULE>, as docs/configuration.md writes it.
func declaredVars() []string {
	upper := map[string]bool{}
	for _, m := range modules.Names() {
		upper[strings.ToUpper(m)] = true
	}
	var names []string
	for _, env := range []string{"dev", "prod"} {
		_, _ = process.Load(func(name string) string {
			parts := strings.Split(name, "_")
			for i, p := range parts {
				if upper[p] {
					parts[i] = moduleVar
				}
			}
			if name = strings.Join(parts, "_"); !slices.Contains(names, name) {
				names = append(names, name)
			}
			if name == "APP_ENV" {
				return env
			}
			return ""
		}, modules.All)
	}
	return names
}

// configTable returns the variable names in the first column of the first
// table whose header begins with "| variable |".
func configTable(doc string) ([]string, error) {
	var names []string
	in, done := false, false
	backticked := regexp.MustCompile("`([^`]+)`")
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		switch {
		case done:
		case !in && strings.HasPrefix(line, "| variable |"):
			in = true
		case in && !strings.HasPrefix(line, "|"):
			in, done = false, true
		case in:
			cells := strings.Split(line, "|")
			if len(cells) < 3 {
				continue
			}
			for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
				names = append(names, m[1])
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s has no table whose header begins with \"| variable |\"", configDoc)
	}
	return names, nil
}

// route is one registered route.
type route struct {
	method string // GET, POST, ...; empty for every method
	path   string // with the /api/v1 prefix
	pos    token.Position
}

// doc is how docs/api.md writes the route.
func (r route) doc() string {
	if r.method == "" {
		return r.path
	}
	return r.method + " " + r.path
}

// chiMethods maps chi's per-method registration functions to HTTP methods.
var chiMethods = map[string]string{
	"Get": "GET", "Head": "HEAD", "Post": "POST", "Put": "PUT", "Patch": "PATCH",
	"Delete": "DELETE", "Options": "OPTIONS", "Connect": "CONNECT", "Trace": "TRACE",
}

// fileRoutes returns the chi routes registered in a Go file: r.Get("/p", h),
// r.With(mw).Post("/p", h), r.Method("GET", "/p", h), r.Handle("/p", h),
// and those inside r.Route("/prefix", func(r chi.Router) { ... }).
func fileRoutes(file string) ([]route, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var routes []route
	var errs []string
	var walk func(n ast.Node, prefix string)
	walk = func(n ast.Node, prefix string) {
		ast.Inspect(n, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pos := fset.Position(call.Pos())
			name, args := sel.Sel.Name, call.Args
			switch {
			case chiMethods[name] != "" && len(args) == 2,
				(name == "Handle" || name == "HandleFunc") && len(args) == 2:
				path, ok := pathLit(args[0])
				if !ok {
					// A string that is no pattern, or Handle(x, y) of another
					// package such as httpx.Handle(log, h): not a route.
					if isString(args[0]) || chiMethods[name] == "" {
						return true
					}
					errs = append(errs, fmt.Sprintf("%s: cannot read the path of %s; use a string literal", pos, name))
					return true
				}
				routes = append(routes, route{method: chiMethods[name], path: prefix + path, pos: pos})
			case name == "Method" && len(args) == 3:
				method, ok1 := methodName(args[0])
				path, ok2 := pathLit(args[1])
				if !ok1 || !ok2 {
					errs = append(errs, fmt.Sprintf("%s: cannot read the method or path of Method; use literals", pos))
					return true
				}
				routes = append(routes, route{method: method, path: prefix + path, pos: pos})
			case name == "Route" && len(args) == 2:
				path, ok := pathLit(args[0])
				fn, isFunc := args[1].(*ast.FuncLit)
				if !ok || !isFunc {
					errs = append(errs, fmt.Sprintf("%s: cannot follow Route; use a string literal and a func literal", pos))
					return true
				}
				walk(fn.Body, prefix+path)
				return false
			case name == "Mount" && len(args) == 2:
				errs = append(errs, fmt.Sprintf("%s: cannot follow Mount; register the routes in this package", pos))
			}
			return true
		})
	}
	walk(f, apiPrefix)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return routes, nil
}

// pathLit returns the value of a string literal that is a chi pattern.
func pathLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil || !strings.HasPrefix(s, "/") {
		return "", false
	}
	return s, true
}

// isString reports whether e is a string literal.
func isString(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

// methodName reads the method argument of Method: "GET" or http.MethodGet.
func methodName(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(e.Value)
		return strings.ToUpper(s), err == nil && e.Kind == token.STRING
	case *ast.SelectorExpr:
		m, ok := strings.CutPrefix(e.Sel.Name, "Method")
		return strings.ToUpper(m), ok && m != ""
	}
	return "", false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
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
