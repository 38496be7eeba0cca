package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/admin"
	"github.com/modmono/shop/internal/gateway"
	"github.com/modmono/shop/internal/openapi"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/page"
	"github.com/modmono/shop/platform/problem"
	"github.com/modmono/shop/platform/rpc"
)

// problemMedia is the media type of every error response.
const problemMedia = problem.ContentType

// document is the parsed openapi.json. Numbers are kept as json.Number.
type document struct {
	root map[string]any
}

func loadDocument(t *testing.T) *document {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(openapi.Document()))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if dec.More() {
		t.Fatal("openapi.json has data after the document")
	}
	return &document{root: root}
}

// pointer returns the value a local reference ("#/components/...") names.
func (d *document) pointer(ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("%q is not a local reference", ref)
	}
	var cur any = d.root
	for tok := range strings.SplitSeq(rest, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// resolve follows v's $ref, if it has one, to the object it names.
func (d *document) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := d.pointer(ref)
		if err != nil {
			return nil
		}
		m, _ = target.(map[string]any)
	}
	return nil
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operation is one method of one path of the document.
type operation struct {
	method string // upper case
	path   string
	op     map[string]any
	params []map[string]any // the path item's and the operation's, resolved
}

func (o operation) String() string { return o.method + " " + o.path }

func (o operation) roles() []string {
	var roles []string
	list, _ := o.op["x-roles"].([]any)
	for _, r := range list {
		s, _ := r.(string)
		roles = append(roles, s)
	}
	return roles
}

// public reports whether the operation's security is the empty list.
func (o operation) public() bool {
	s, ok := o.op["security"].([]any)
	return ok && len(s) == 0
}

func (d *document) operations() []operation {
	paths, _ := d.root["paths"].(map[string]any)
	var ops []operation
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[path].(map[string]any)
		var shared []map[string]any
		list, _ := item["parameters"].([]any)
		for _, p := range list {
			shared = append(shared, d.resolve(p))
		}
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			params := slices.Clone(shared)
			list, _ := op["parameters"].([]any)
			for _, p := range list {
				params = append(params, d.resolve(p))
			}
			ops = append(ops, operation{method: strings.ToUpper(m), path: path, op: op, params: params})
		}
	}
	return ops
}

func (d *document) operation(method, path string) (operation, bool) {
	for _, o := range d.operations() {
		if o.method == method && o.path == path {
			return o, true
		}
	}
	return operation{}, false
}

// response returns the operation's resolved response for status.
func (d *document) response(o operation, status int) map[string]any {
	responses, _ := o.op["responses"].(map[string]any)
	return d.resolve(responses[strconv.Itoa(status)])
}

func codesOf(resp map[string]any) []string {
	var codes []string
	list, _ := resp["x-codes"].([]any)
	for _, c := range list {
		s, _ := c.(string)
		codes = append(codes, s)
	}
	return codes
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestDocument checks the document on its own: it is OpenAPI 3.1.0, every
// reference resolves, and every operation is complete.
func TestDocument(t *testing.T) {
	t.Parallel()
	d := loadDocument(t)
	if v := d.root["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	info, _ := d.root["info"].(map[string]any)
	if info["title"] != "shop" || info["version"] != "1" {
		t.Errorf("info = %v, want title shop and version 1", info)
	}
	scheme := d.resolve(map[string]any{"$ref": "#/components/securitySchemes/bearerAuth"})
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" || scheme["bearerFormat"] != "JWT" {
		t.Errorf("securitySchemes.bearerAuth = %v, want HTTP bearer JWT", scheme)
	}

	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := d.pointer(ref); err != nil {
					t.Errorf("%s: $ref does not resolve: %v", at, err)
				}
			}
			for k, e := range v {
				walk(at+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(at+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", d.root)

	tags := map[string]bool{}
	list, _ := d.root["tags"].([]any)
	for _, tag := range list {
		m, _ := tag.(map[string]any)
		name, _ := m["name"].(string)
		tags[name] = true
	}

	ops := d.operations()
	if len(ops) == 0 {
		t.Fatal("the document has no operations")
	}
	ids := map[string]string{}
	for _, o := range ops {
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", o)
		case ids[id] != "":
			t.Errorf("%s: operationId %q is also %s's", o, id, ids[id])
		default:
			ids[id] = o.String()
		}
		opTags, _ := o.op["tags"].([]any)
		if len(opTags) == 0 {
			t.Errorf("%s: no tag", o)
		}
		for _, tag := range opTags {
			if s, _ := tag.(string); !tags[s] {
				t.Errorf("%s: tag %v is not declared in the document's tags", o, tag)
			}
		}
		checkSecurity(t, o)
		checkParams(t, o)

		responses, _ := o.op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", o)
		}
		for status, r := range responses {
			resp := d.resolve(r)
			if resp == nil {
				t.Errorf("%s %s: the response does not resolve", o, status)
				continue
			}
			if _, ok := resp["description"].(string); !ok {
				t.Errorf("%s %s: the response has no description", o, status)
			}
			content, _ := resp["content"].(map[string]any)
			_, isProblem := content[problemMedia]
			// /health/ready answers 503 with its usual JSON body; every API error is a problem.
			if n, _ := strconv.Atoi(status); n >= 400 && strings.HasPrefix(o.path, "/api/") && (!isProblem || len(content) != 1) {
				t.Errorf("%s %s: an error response must be %s only", o, status, problemMedia)
			}
			if isProblem && len(codesOf(resp)) == 0 {
				t.Errorf("%s %s: a problem response must list its codes in x-codes", o, status)
			}
			if status == "429" {
				if h := d.resolve(mapAt(resp, "headers", "Retry-After")); h == nil || h["required"] != true {
					t.Errorf("%s 429: the required Retry-After header is not documented", o)
				}
			}
		}
		if o.path == "/api/v1/orders" && o.method == "POST" {
			if !slices.ContainsFunc(o.params, func(p map[string]any) bool {
				return p["in"] == "header" && p["name"] == "Idempotency-Key" && p["required"] == true
			}) {
				t.Errorf("%s: the required Idempotency-Key header is not documented", o)
			}
		}
	}
}

func mapAt(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// checkSecurity requires security on every operation: the empty list on
// public routes, bearerAuth with x-roles on the others.
func checkSecurity(t *testing.T, o operation) {
	t.Helper()
	sec, ok := o.op["security"].([]any)
	switch {
	case !ok:
		t.Errorf("%s: no security (public routes have security: [])", o)
	case len(sec) == 0:
		if _, has := o.op["x-roles"]; has {
			t.Errorf("%s: a public route lists x-roles", o)
		}
	default:
		if len(sec) != 1 || mapAt(sec[0], "bearerAuth") == nil {
			t.Errorf("%s: security = %v, want [{bearerAuth: []}]", o, sec)
		}
		for _, r := range o.roles() {
			if !auth.Role(r).Valid() {
				t.Errorf("%s: x-roles names %q, which is not a role", o, r)
			}
		}
		if len(o.roles()) == 0 {
			t.Errorf("%s: a route with security must list its roles in x-roles", o)
		}
	}
}

// checkParams requires every {name} of the path to be a declared path
// parameter, and every declared path parameter to be in the path.
func checkParams(t *testing.T, o operation) {
	t.Helper()
	inPath := map[string]bool{}
	for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
		inPath[m[1]] = true
	}
	declared := map[string]bool{}
	for _, p := range o.params {
		if p == nil {
			t.Errorf("%s: a parameter does not resolve", o)
			continue
		}
		name, _ := p["name"].(string)
		if p["schema"] == nil {
			t.Errorf("%s: parameter %q has no schema", o, name)
		}
		if p["in"] != "path" {
			continue
		}
		declared[name] = true
		if p["required"] != true {
			t.Errorf("%s: path parameter %q must be required", o, name)
		}
		if !inPath[name] {
			t.Errorf("%s: declares path parameter %q, which the path lacks", o, name)
		}
	}
	for name := range inPath {
		if !declared[name] {
			t.Errorf("%s: path parameter {%s} is not declared", o, name)
		}
	}
}

// reachable are the errors some route can answer with: each must be listed,
// under the status of its kind, by a response of the document. Errors of
// internal packages, which cannot be imported here, are restated by code
// and kind; the source scan of TestErrorCodes keeps those true.
var reachable = []*apperr.Error{
	apperr.New(apperr.KindInternal, problem.Internal, ""),

	httpx.ErrNotFound, httpx.ErrMethodNotAllowed, httpx.ErrUnsupportedMediaType, httpx.ErrBodyTooLarge,
	httpx.ErrEmptyBody, httpx.ErrUnreadableBody, httpx.ErrMalformedJSON, httpx.ErrInvalidJSON, httpx.ErrUnknownField,
	httpx.ErrTrailingData, httpx.ErrInvalidID, httpx.ErrInvalidQuery, httpx.ErrTimeout, httpx.ErrRateLimited,
	page.ErrInvalid,
	auth.ErrUnauthenticated, auth.ErrInvalidToken, auth.ErrForbidden, auth.ErrKeysUnavailable,
	bus.ErrDeadLetterNotFound, bus.ErrReplayFailed,
	apperr.New(apperr.KindConflict, "bus.handler_unknown", ""), // platform/bus.Replay
	gateway.ErrUnavailable,
	admin.ErrInvalidFilter, admin.ErrEventsUnavailable, admin.ErrReplayUnreachable, admin.ErrTraceNotFound, admin.ErrInvalidTraceID,

	identityapi.ErrEmailTaken, identityapi.ErrInvalidCredentials, identityapi.ErrInvalidUser, identityapi.ErrInvalidLogin,
	identityapi.ErrUserNotFound,
	catalogapi.ErrProductNotFound, catalogapi.ErrInvalidProduct,
	inventoryapi.ErrUnknownProduct, inventoryapi.ErrInvalidStock, inventoryapi.ErrBelowReserved,
	orderingapi.ErrOrderNotFound, orderingapi.ErrInvalidOrder, orderingapi.ErrIdempotencyKeyMissing, orderingapi.ErrIdempotencyKeyInvalid,
	orderingapi.ErrIdempotencyKeyReused, orderingapi.ErrUnknownProduct, orderingapi.ErrMixedCurrency,
	orderingapi.ErrNotCancellable,
	apperr.New(apperr.KindInvalid, "ordering.invalid_status", ""), // modules/ordering/internal/ports/httpport
}

// unreachable are the declared errors no route answers with, and why. An
// entry moves to reachable as soon as a route can return it.
var unreachable = map[string]string{
	inventoryapi.ErrInsufficientStock.Code:   "reservations are made by the checkout saga only",
	inventoryapi.ErrInvalidReservation.Code:  "reservations are made by the checkout saga only",
	inventoryapi.ErrReservationNotFound.Code: "reservations are made by the checkout saga only",
	inventoryapi.ErrReservationState.Code:    "reservations are made by the checkout saga only",

	"ordering.status_conflict": "modules/ordering/internal/domain: status changes are made by the saga only",

	paymentsapi.ErrDeclined.Code:        "charges are made by the checkout saga only",
	paymentsapi.ErrCancelled.Code:       "charges are made by the checkout saga only",
	paymentsapi.ErrNotCaptured.Code:     "refunds are made by the cancellation saga only",
	paymentsapi.ErrInvalidCharge.Code:   "charges are made by the checkout saga only",
	paymentsapi.ErrProviderDown.Code:    "the provider is called by the saga only",
	paymentsapi.ErrPaymentNotFound.Code: "GET /payments answers an empty list for an order without a payment",
	paymentsapi.ErrProviderTimeout.Code: "the provider is called by the saga only",
	paymentsapi.ErrProviderRefused.Code: "the provider is called by the saga only",
	paymentsapi.ErrChargeMismatch.Code:  "charges are made by the checkout saga only",
	paymentsapi.ErrInProgress.Code:      "payments are changed by the sagas only",
	paymentsapi.ErrInvalidReason.Code:   "refunds and voids are made by the sagas only",
	"payments.invalid_transition":       "modules/payments/internal/domain: an internal error, answered as code internal",

	auth.ErrInvalidServiceToken.Code: "answered on /internal (calls between processes) only",
	rpc.ErrBadCall.Code:              "answered on /internal (calls between processes) only",
	rpc.ErrInvalidText.Code:          "refused by a module's HTTP client before a call between processes; public requests with such text are refused as malformed JSON",
	rpc.ErrUnavailable.Code:          "only where a module runs in another process; the document describes the API of one process (docs/extraction.md)",
	rpc.ErrOverloaded.Code:           "only where a module runs in another process; the document describes the API of one process (docs/extraction.md)",
	rpc.ErrLoop.Code:                 "only in a deployment whose APP_REMOTE_* send requests round in a loop",

	// The storefront's backend for frontend is not the public API: it
	// answers the storefront's pages under /bff/ (docs/storefront.md).
	"bff.cross_site_request":    "answered under /bff/ only",
	"bff.invalid_cart":          "answered under /bff/ only",
	"bff.invalid_payment_token": "answered under /bff/ only",
	"bff.invalid_stock_query":   "answered under /bff/ only",
	"bff.unavailable":           "answered under /bff/ only",
}

// TestErrorCodes requires every error code a route can answer with to be
// listed in the document, in an x-codes list of a response whose status is
// the one its kind maps to, and every listed code to be a real one. The
// source scan finds each apperr.New in the code, so a new error code fails
// here until it is sorted into reachable (and documented) or unreachable.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	d := loadDocument(t)

	// Where each code is listed: statuses under operations, and anywhere at all.
	statuses := map[string][]int{}
	for _, o := range d.operations() {
		responses, _ := o.op["responses"].(map[string]any)
		for status, r := range responses {
			n, _ := strconv.Atoi(status)
			for _, c := range codesOf(d.resolve(r)) {
				statuses[c] = append(statuses[c], n)
			}
		}
	}
	mentioned := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if m, ok := v["x-codes"]; ok {
				for _, c := range codesOf(map[string]any{"x-codes": m}) {
					mentioned[c] = true
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(d.root)

	known := map[string]*apperr.Error{}
	for _, e := range reachable {
		if known[e.Code] != nil {
			t.Errorf("reachable lists %s twice", e.Code)
		}
		known[e.Code] = e
		if _, also := unreachable[e.Code]; also {
			t.Errorf("%s is listed as both reachable and unreachable", e.Code)
		}
		want := problem.Status(e.Kind)
		switch got := statuses[e.Code]; {
		case len(got) == 0 && !mentioned[e.Code]:
			t.Errorf("the document lists %s (%d) in no x-codes; add it to the responses that can carry it", e.Code, want)
		case len(got) > 0 && slices.ContainsFunc(got, func(s int) bool { return s != want }):
			t.Errorf("the document lists %s under statuses %v; its kind %s always answers %d", e.Code, got, e.Kind, want)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(mentioned)) {
		if known[c] == nil {
			if why, ok := unreachable[c]; ok {
				t.Errorf("the document lists %s, which no route answers with (%s)", c, why)
			} else {
				t.Errorf("the document lists %s, which is no error code of the code base", c)
			}
		}
	}

	declared := scanErrorCodes(t)
	for _, code := range slices.Sorted(maps.Keys(declared)) {
		kind := declared[code]
		e, isReachable := known[code]
		_, isUnreachable := unreachable[code]
		switch {
		case !isReachable && !isUnreachable:
			t.Errorf("error code %s (%s) is declared in the code but sorted neither into reachable "+
				"(then document it) nor into unreachable (then say why) in this test", code, kind)
		case isReachable && e.Kind != kind:
			t.Errorf("reachable says %s is %s; the code declares it %s", code, e.Kind, kind)
		}
	}
	for code := range known {
		if _, ok := declared[code]; !ok && code != problem.Internal {
			t.Errorf("reachable lists %s, which no apperr.New in the code declares any more", code)
		}
	}
	for code := range unreachable {
		if _, ok := declared[code]; !ok {
			t.Errorf("unreachable lists %s, which no apperr.New in the code declares any more", code)
		}
	}
}

// kinds names apperr's kinds as the source spells them.
var kinds = map[string]apperr.Kind{
	"KindInternal": apperr.KindInternal, "KindInvalid": apperr.KindInvalid,
	"KindUnauthenticated": apperr.KindUnauthenticated, "KindForbidden": apperr.KindForbidden,
	"KindNotFound": apperr.KindNotFound, "KindConflict": apperr.KindConflict,
	"KindUnprocessable": apperr.KindUnprocessable, "KindTooManyRequests": apperr.KindTooManyRequests,
	"KindUnavailable": apperr.KindUnavailable, "KindTimeout": apperr.KindTimeout,
	"KindMethodNotAllowed": apperr.KindMethodNotAllowed, "KindTooLarge": apperr.KindTooLarge,
	"KindUnsupportedMediaType": apperr.KindUnsupportedMediaType,
}

// scanErrorCodes parses the non-test Go files of modules/, platform/ and
// internal/ and returns the code and kind of every apperr.New(kind, "code", ...).
func scanErrorCodes(t *testing.T) map[string]apperr.Kind {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]apperr.Kind{}
	fset := token.NewFileSet()
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
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) < 2 || !isSelector(call.Fun, "apperr", "New") {
					return true
				}
				lit, ok := call.Args[1].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: apperr.New with a code that is not a string literal; this test cannot see it",
						fset.Position(call.Pos()))
					return true
				}
				code, _ := strconv.Unquote(lit.Value)
				sel, _ := call.Args[0].(*ast.SelectorExpr)
				kind, ok := apperr.Kind(0), false
				if sel != nil {
					kind, ok = kinds[sel.Sel.Name]
				}
				if !ok {
					t.Errorf("%s: apperr.New(%s) with a kind this test cannot read", fset.Position(call.Pos()), code)
				}
				if prev, dup := codes[code]; dup && prev != kind {
					t.Errorf("%s: code %s is declared with two kinds", fset.Position(call.Pos()), code)
				}
				codes[code] = kind
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no apperr.New in the code; has the scan's root moved?")
	}
	return codes
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// mediaType returns the essence of a Content-Type ("application/json").
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType
	}
	return mt
}

// conform checks an answer of the application against the document: its
// status is a documented response of the operation, its content type and
// body match that response, a problem's code is one the response lists,
// and the documented required headers are there.
func (d *document) conform(o operation, status int, header http.Header, body []byte) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	resp := d.response(o, status)
	if resp == nil {
		fail("answered %d, which the document does not list (body %s)", status, shorten(body))
		return errs
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			fail("%d: the document says no body, the answer has %s", status, shorten(body))
		}
	} else {
		mt := mediaType(header.Get("Content-Type"))
		media, ok := content[mt].(map[string]any)
		if !ok {
			fail("%d: content type %q is not documented (want one of %v)", status, mt, slices.Sorted(maps.Keys(content)))
			return errs
		}
		if mt == "application/json" || strings.HasSuffix(mt, "+json") {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				fail("%d: the body is not JSON: %v", status, err)
				return errs
			}
			for _, e := range d.validate(media["schema"], v, "body") {
				fail("%d: %s", status, e)
			}
			if mt == problemMedia {
				code, _ := mapAt(v, "code").(string)
				if !slices.Contains(codesOf(resp), code) {
					fail("%d: problem code %q is not in the response's x-codes %v", status, code, codesOf(resp))
				}
				if got, _ := mapAt(v, "status").(json.Number); got.String() != strconv.Itoa(status) {
					fail("%d: the problem says status %v", status, got)
				}
			}
		}
	}
	documented := map[string]bool{}
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		documented[http.CanonicalHeaderKey(name)] = true
		if d.resolve(h)["required"] == true && header.Get(name) == "" {
			fail("%d: the required header %s is missing", status, name)
		}
	}
	for _, name := range []string{"Location", "Retry-After"} {
		if header.Get(name) != "" && !documented[name] {
			fail("%d: the answer sets %s, which the document does not list", status, name)
		}
	}
	return errs
}

func shorten(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
