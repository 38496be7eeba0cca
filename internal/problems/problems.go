package problems

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/problem"
)

// Problem is the explanation of one problem type.
type Problem struct {
	Code        string `json:"code"`        // the stable code, as in the answer's "code"
	Kind        string `json:"kind"`        // the apperr.Kind, as in the answer's "kind"
	Status      int    `json:"status"`      // the HTTP status the kind maps to
	Message     string `json:"message"`     // the default "detail" of the answer; may be empty
	Explanation string `json:"explanation"` // what it means and what to do, from the declaration's doc comment
	DeclaredIn  string `json:"declared_in"` // the package and identifier that declare it
}

// Title is the problem's title, the text of its status.
func (p Problem) Title() string { return http.StatusText(p.Status) }

// Type is the problem's type URI.
func (p Problem) Type() string { return problem.TypePrefix + p.Code }

//go:embed problems.json
var catalogue []byte

// all is the catalogue, sorted by code; decoded once, read-only after.
var all = mustDecode(catalogue)

func mustDecode(b []byte) []Problem {
	var ps []Problem
	if err := json.Unmarshal(b, &ps); err != nil {
		// The file is generated and checked by this package's test; a
		// broken one is a build mistake, not an input.
		panic(fmt.Sprintf("problems: the embedded problems.json is broken: %v", err))
	}
	slices.SortFunc(ps, func(a, b Problem) int { return strings.Compare(a.Code, b.Code) })
	return ps
}

// All returns every explained problem, sorted by code.
func All() []Problem { return slices.Clone(all) }

// Lookup returns the problem of code.
func Lookup(code string) (Problem, bool) {
	i, ok := slices.BinarySearchFunc(all, code, func(p Problem, c string) int { return strings.Compare(p.Code, c) })
	if !ok {
		return Problem{}, false
	}
	return all[i], true
}

// ErrUnknown answers a problem page asked for a code no error has.
var ErrUnknown = httpx.ErrNotFound.WithMessage("no problem type has this code; /problems/ lists them all")

// Mount serves the index of problem types at GET /problems/ and each one's
// page at GET /problems/{code}, as plain HTML.
func Mount(r chi.Router, log *zap.Logger) {
	r.Get(strings.TrimSuffix(problem.TypePrefix, "/"), func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, problem.TypePrefix, http.StatusMovedPermanently)
	})
	r.Get(problem.TypePrefix, func(w http.ResponseWriter, r *http.Request) {
		render(w, log, indexPage, all)
	})
	r.Get(problem.TypePrefix+"{code}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := Lookup(chi.URLParam(r, "code"))
		if !ok {
			httpx.WriteError(w, r, log, ErrUnknown)
			return
		}
		render(w, log, problemPage, p)
	})
}

func render(w http.ResponseWriter, log *zap.Logger, t *template.Template, data any) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		log.Error("cannot render a problem page", zap.Error(err))
		http.Error(w, "cannot render this page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write([]byte(b.String()))
}

const style = `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em}dt{font-weight:600}dd{margin:0 0 .5rem 0}table{border-collapse:collapse}
td,th{text-align:left;padding:.2rem .6rem;border-bottom:1px solid #ddd}</style>`

var problemPage = template.Must(template.New("problem").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Code}}: {{.Status}} {{.Title}}</title>` + style + `</head>
<body><p><a href="/problems/">All problem types</a></p>
<h1><code>{{.Code}}</code></h1>
<p><strong>{{.Status}} {{.Title}}</strong> (kind <code>{{.Kind}}</code>)</p>
<p>{{.Explanation}}</p>
<dl>
<dt>type</dt><dd><code>{{.Type}}</code></dd>
{{if .Message}}<dt>usual detail</dt><dd>{{.Message}}</dd>{{end}}
<dt>declared in</dt><dd><code>{{.DeclaredIn}}</code></dd>
</dl>
<p>An answer with this problem is <code>application/problem+json</code> with the members
<code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code>, <code>code</code>, <code>kind</code>,
<code>correlation_id</code> and, when fields are at fault, <code>errors</code> (RFC 9457).
Quote the <code>correlation_id</code> when you report a problem: the server's log has it.</p>
</body></html>
`))

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Problem types</title>` + style + `</head>
<body><h1>Problem types</h1>
<p>Every error the shop's API answers is an RFC 9457 problem whose <code>type</code> is one of these pages.</p>
<table><tr><th>code</th><th>status</th><th>usual detail</th></tr>
{{range .}}<tr><td><a href="/problems/{{.Code}}"><code>{{.Code}}</code></a></td><td>{{.Status}}</td><td>{{.Message}}</td></tr>
{{end}}</table>
</body></html>
`))
