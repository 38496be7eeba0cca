package problems_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html/template"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/problems"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/problem"
)

var update = flag.Bool("update", false, "write problems.json and docs/problems.md from the source")

// TestCatalogueIsCurrent fails when problems.json or docs/problems.md no
// longer says what the declarations' doc comments say, and when a declared
// error has no explanation.
func TestCatalogueIsCurrent(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	scanned, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range scanned {
		if p.Explanation == "" {
			t.Errorf("%s (%s) has no explanation: write a doc comment on its declaration saying what it means and what to do, "+
				"then run go test ./internal/problems -update", p.Code, p.DeclaredIn)
		}
	}
	wantJSON, err := json.MarshalIndent(scanned, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	wantJSON = append(wantJSON, '\n')
	wantMD := markdown(scanned)
	files := map[string][]byte{
		filepath.Join("internal", "problems", "problems.json"): wantJSON,
		filepath.Join("docs", "problems.md"):                   wantMD,
	}
	for rel, want := range files {
		path := filepath.Join(root, rel)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale (an error was declared, removed or its doc comment changed); run go test ./internal/problems -update", rel)
		}
	}
	if *update {
		return
	}
	var codes []string
	for _, p := range problems.All() {
		codes = append(codes, p.Code)
	}
	for _, p := range scanned {
		if !slices.Contains(codes, p.Code) {
			t.Errorf("the embedded catalogue lacks %s; run go test ./internal/problems -update", p.Code)
		}
	}
}

// TestEveryCodeHasAPage asks a process assembled as cmd/app assembles it for
// the page of every error code declared in the source, and for a code that
// does not exist.
func TestEveryCodeHasAPage(t *testing.T) {
	t.Parallel()
	scanned, err := scan(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	var h *host.HTTP
	apptest.Start(t, nil, &h)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.Root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	for _, p := range scanned {
		rec := get(problem.TypePrefix + p.Code)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", p.Type(), rec.Code, rec.Header().Get("Content-Type"))
			continue
		}
		if p.Explanation == "" || !strings.Contains(body, p.Code) || !strings.Contains(body, template.HTMLEscapeString(firstWords(p.Explanation))) {
			t.Errorf("GET %s: the page does not explain the problem:\n%s", p.Type(), body)
		}
	}
	index := get(problem.TypePrefix)
	if index.Code != http.StatusOK {
		t.Errorf("GET %s: %d", problem.TypePrefix, index.Code)
	}
	for _, p := range scanned {
		if !strings.Contains(index.Body.String(), `href="/problems/`+p.Code+`"`) {
			t.Errorf("the index does not link %s", p.Code)
		}
	}

	for _, code := range []string{"no.such_code", "..%2f..%2fetc", "%00", strings.Repeat("x", 5000)} {
		rec := get(problem.TypePrefix + code)
		var got problem.Problem
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != problem.ContentType ||
			json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.Code != "http.not_found" {
			t.Errorf("GET /problems/%.20s: %d %s %s; want a 404 problem", code, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// A page's explanation is escaped, not interpreted: a catalogue entry with
// markup shows it as text.
func TestPagesEscapeText(t *testing.T) {
	t.Parallel()
	r := chi.NewRouter()
	problems.Mount(r, zap.NewNop())
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/problems/auth.unauthenticated", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Authorization: Bearer &lt;token&gt;") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func firstWords(s string) string {
	s, _, _ = strings.Cut(s, ",")
	if len(s) > 30 {
		s = s[:30]
	}
	return strings.TrimSpace(s)
}

// scan parses the non-test Go files of modules/, platform/ and internal/
// and returns every apperr.New(kind, "code", message) with the doc comment
// of its declaration, plus the code every non-apperr error is answered
// with (platform/problem.Internal).
func scan(root string) ([]problems.Problem, error) {
	byCode := map[string]problems.Problem{}
	fset := token.NewFileSet()
	var errs []string
	for _, dir := range []string{"modules", "platform", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkg := filepath.ToSlash(rel)
			for _, p := range fileProblems(fset, f, pkg, &errs) {
				if prev, dup := byCode[p.Code]; dup && prev.Explanation != "" {
					continue // the first declaration with an explanation wins
				}
				byCode[p.Code] = p
			}
			if pkg == "platform/problem" {
				if doc := constDoc(f, "Internal"); doc != "" {
					byCode[problem.Internal] = problems.Problem{Code: problem.Internal, Kind: apperr.KindInternal.String(),
						Status: problem.Status(apperr.KindInternal), Message: "an unexpected error occurred",
						Explanation: explanation(doc, "Internal"), DeclaredIn: pkg + ".Internal"}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	if len(byCode) < 10 {
		return nil, fmt.Errorf("found only %d error codes under %s; has the layout changed?", len(byCode), root)
	}
	var out []problems.Problem
	for _, p := range byCode {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b problems.Problem) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}

// fileProblems returns the errors f declares. The explanation of each is the
// doc comment of its var (a lone var's, or its line's in a var block), or,
// for an apperr.New inside a function, the comment on the lines just above
// its statement.
func fileProblems(fset *token.FileSet, f *ast.File, pkg string, errs *[]string) []problems.Problem {
	commentAbove := map[int]*ast.CommentGroup{} // by the line after the comment's end
	for _, c := range f.Comments {
		commentAbove[fset.Position(c.End()).Line+1] = c
	}
	var out []problems.Problem
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 3 || !isSelector(call.Fun, "apperr", "New") {
			return true
		}
		kindSel, ok1 := call.Args[0].(*ast.SelectorExpr)
		lit, ok2 := call.Args[1].(*ast.BasicLit)
		if !ok1 || !ok2 || lit.Kind != token.STRING {
			*errs = append(*errs, fmt.Sprintf("%s: apperr.New whose kind or code this test cannot read; use apperr.KindX and a string literal",
				fset.Position(call.Pos())))
			return true
		}
		code, _ := strconv.Unquote(lit.Value)
		kind, ok := kindByName(kindSel.Sel.Name)
		if !ok {
			*errs = append(*errs, fmt.Sprintf("%s: unknown kind %s", fset.Position(call.Pos()), kindSel.Sel.Name))
			return true
		}
		var message string
		if m, ok := call.Args[2].(*ast.BasicLit); ok && m.Kind == token.STRING {
			message, _ = strconv.Unquote(m.Value)
		}
		name, doc := declaration(fset, stack, commentAbove)
		declared := pkg
		if name != "" {
			declared += "." + name
		}
		out = append(out, problems.Problem{Code: code, Kind: kind.String(), Status: problem.Status(kind),
			Message: message, Explanation: explanation(doc, name), DeclaredIn: declared})
		return true
	})
	return out
}

// declaration walks up from an apperr.New call to what declares it: a var
// (its name and doc comment) or a statement in a function (the function's
// name and the comment above the statement).
func declaration(fset *token.FileSet, stack []ast.Node, commentAbove map[int]*ast.CommentGroup) (name, doc string) {
	var stmtDoc *ast.CommentGroup
	for i := len(stack) - 1; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *ast.ValueSpec:
			if len(n.Names) > 0 {
				name = n.Names[0].Name
			}
			if n.Doc != nil {
				return name, n.Doc.Text()
			}
			if gd, ok := stack[i-1].(*ast.GenDecl); ok && len(gd.Specs) == 1 && gd.Doc != nil {
				return name, gd.Doc.Text()
			}
			return name, ""
		case ast.Stmt:
			if stmtDoc == nil {
				stmtDoc = commentAbove[fset.Position(n.Pos()).Line]
			}
		case *ast.FuncDecl:
			name = n.Name.Name
			if stmtDoc != nil {
				return name, stmtDoc.Text()
			}
			return name, ""
		}
	}
	return "", ""
}

// explanation turns a doc comment into a page's text: one paragraph per
// paragraph of the comment, and "ErrX means the..." becomes "The...".
func explanation(doc, name string) string {
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(doc), "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	s := strings.Join(paras, "\n\n")
	if name != "" {
		if rest, ok := strings.CutPrefix(s, name+" means "); ok {
			s = rest
		} else if rest, ok := strings.CutPrefix(s, name+": "); ok {
			s = rest
		}
	}
	if r, size := utf8.DecodeRuneInString(s); size > 0 {
		s = string(unicode.ToUpper(r)) + s[size:]
	}
	return s
}

// constDoc returns the doc comment of the constant name declared in f.
func constDoc(f *ast.File, name string) string {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) == 1 && vs.Names[0].Name == name {
				if vs.Doc != nil {
					return vs.Doc.Text()
				}
				if gd.Doc != nil && len(gd.Specs) == 1 {
					return gd.Doc.Text()
				}
			}
		}
	}
	return ""
}

func kindByName(name string) (apperr.Kind, bool) {
	s, ok := strings.CutPrefix(name, "Kind")
	if !ok {
		return 0, false
	}
	for k := apperr.Kind(0); k.String() != "internal" || k == 0; k++ {
		if strings.ReplaceAll(k.String(), "_", "") == strings.ToLower(s) {
			return k, true
		}
	}
	return 0, false
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// markdown renders docs/problems.md.
func markdown(ps []problems.Problem) []byte {
	var b bytes.Buffer
	b.WriteString("# Problem types\n\n")
	b.WriteString("<!-- Generated by `go test ./internal/problems -update` from the doc comments of the errors' declarations; do not edit. -->\n\n")
	b.WriteString("Every error the API answers is an RFC 9457 problem (`application/problem+json`) with a stable\n")
	b.WriteString("`code`; its `type` is `/problems/<code>`, and every process serving the API serves that page\n")
	b.WriteString("(`curl http://127.0.0.1:8080/problems/auth.forbidden`, or `/problems/` for the list). This file\n")
	b.WriteString("holds the same text. Quote the answer's `correlation_id` when you report a problem: the server's\n")
	b.WriteString("log has it.\n\n")
	b.WriteString("| code | status | usual detail |\n|---|---|---|\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %d %s | %s |\n", p.Code, anchor(p.Code), p.Status, p.Title(), strings.ReplaceAll(p.Message, "|", `\|`))
	}
	for _, p := range ps {
		fmt.Fprintf(&b, "\n## %s\n\n%d %s, kind `%s`, declared in `%s`.\n\n%s\n", p.Code, p.Status, p.Title(), p.Kind, p.DeclaredIn, strings.ReplaceAll(p.Explanation, "<", "&lt;"))
	}
	return b.Bytes()
}

// anchor is the id GitHub gives the heading "## code".
func anchor(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' {
			return -1
		}
		return r
	}, strings.ToLower(code))
}

// repoRoot returns the repository's folder, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
