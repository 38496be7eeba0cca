package apicontract_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/rpc"
)

const (
	jwtSecret = "apicontract-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	// paymentTimeout is APP_PAYMENT_TIMEOUT: tok_slow answers after twice
	// it, so a slow charge costs this long. It is not shorter because the
	// whole charge step of a checkout (three writes, under -race on a busy
	// machine) must fit in it for tok_ok orders to be confirmed. The
	// provider's breaker opens after 5 timeouts in a row: the suites cause
	// 4 (payments and ordering, once per transport), among successes.
	paymentTimeout = 2 * time.Second
	// settle bounds the wait for asynchronous outcomes (a saga, an event).
	// It is a safeguard against hanging, never an expectation of speed.
	settle = 30 * time.Second
)

// shop is the application under test: its modules' APIs in process, the
// same APIs as HTTP clients of its /internal routes, and what the checks
// need besides.
type shop struct {
	local  apis
	remote apis
	tokens *auth.Verifier // verifies the access tokens identity issues
}

// apis is one implementation of every module interface.
type apis struct {
	identity      identityapi.API
	catalog       catalogapi.API
	inventory     inventoryapi.API
	payments      paymentsapi.API
	ordering      orderingapi.API
	notifications notificationsapi.API
}

var (
	theShop  *shop
	bootErr  error
	shutdown []func()
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		theShop, bootErr = boot()
	}
	code := m.Run()
	for i := len(shutdown) - 1; i >= 0; i-- {
		shutdown[i]()
	}
	os.Exit(code)
}

// app returns the shop, or ends the test if it could not be started.
func app(t *testing.T) *shop {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the whole application against Postgres")
	}
	if bootErr != nil {
		t.Fatalf("start the application: %v", bootErr)
	}
	return theShop
}

// boot starts the whole application in process, once for the package, and
// an HTTP server on its router.
func boot() (s *shop, err error) {
	tb := &mainTB{}
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(bootFailure)
			if !ok {
				panic(p)
			}
			err = errors.New(string(f))
		}
	}()
	dataDir, err := os.MkdirTemp("", "apicontract-")
	if err != nil {
		return nil, err
	}
	shutdown = append(shutdown, func() { _ = os.RemoveAll(dataDir) })
	env := map[string]string{
		// A few connections per module suffice, and leave the server's
		// slots to the other packages testing at the same time.
		"DATABASE_URL":        newDatabase(tb) + "&pool_max_conns=4",
		"APP_BUS":             "gochannel",
		"APP_JWT_SECRET":      jwtSecret,
		"APP_ADMIN_PASSWORD":  "apicontract-admin-password",
		"APP_DATA_DIR":        dataDir,
		"APP_SEED_DEMO":       "false",
		"APP_PAYMENT_TIMEOUT": paymentTimeout.String(),
	}
	cfg, err := process.Load(func(k string) string { return env[k] }, modules.All)
	if err != nil {
		return nil, err
	}
	var h *host.HTTP
	s = &shop{}
	l := &s.local
	var app *fx.App
	// Tried again after a failure, like the database: the modules connect
	// while it starts, when a burst elsewhere may hold every server slot.
	for attempt := 1; ; attempt++ {
		if app, err = start(cfg, fx.Populate(&h, &s.tokens, &l.identity, &l.catalog, &l.inventory, &l.payments, &l.ordering, &l.notifications)); err == nil {
			break
		}
		if attempt == 3 {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "apicontract: start the application: %v; trying again\n", err)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	shutdown = append(shutdown, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "apicontract: stop the application:", err)
		}
	})
	srv := httptest.NewServer(h.Root)
	shutdown = append(shutdown, srv.Close)

	// The callers' own identity: any service of the deployment, since its
	// tokens are keyed by the shared JWT secret.
	serviceTokens := auth.NewServiceTokens([]byte(jwtSecret), "contract-test")
	client := func(module string) *rpc.Client {
		c, err := rpc.NewClient(module, []string{srv.URL}, serviceTokens, rpc.Options{
			Timeout: 20 * time.Second,
			// One attempt: the check sees exactly what one call answered.
			MaxAttempts: 1,
			// A check that provokes a broken answer must not open the
			// breaker for the checks running beside it.
			BreakerFailures: 1 << 20,
		}, nil, nil)
		if err != nil {
			panic(bootFailure(err.Error()))
		}
		return c
	}
	s.remote = apis{
		identity:      identityapi.NewClient(client("identity")),
		catalog:       catalogapi.NewClient(client("catalog")),
		inventory:     inventoryapi.NewClient(client("inventory")),
		payments:      paymentsapi.NewClient(client("payments")),
		ordering:      orderingapi.NewClient(client("ordering")),
		notifications: notificationsapi.NewClient(client("notifications")),
	}
	return s, nil
}

// start builds and starts the application of cfg, as cmd/app does but
// without its listening server.
func start(cfg process.Config, populate fx.Option) (*fx.App, error) {
	app := fx.New(process.Options(cfg, logger(), modules.All, false), fx.NopLogger, populate)
	if err := app.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		return nil, err
	}
	return app, nil
}

// newDatabase is pgtest.NewDatabase, tried again after a failure: the
// server is shared with other packages' tests, whose bursts of connections
// may briefly take every slot.
func newDatabase(tb *mainTB) string {
	for attempt := 1; ; attempt++ {
		url, err := func() (url string, err error) {
			defer func() {
				if p := recover(); p != nil {
					f, ok := p.(bootFailure)
					if !ok {
						panic(p)
					}
					err = errors.New(string(f))
				}
			}()
			return pgtest.NewDatabase(tb), nil
		}()
		if err == nil {
			return url
		}
		if attempt == 3 {
			panic(bootFailure(err.Error()))
		}
		fmt.Fprintf(os.Stderr, "apicontract: %v; trying again\n", err)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
}

// logger is silent unless APICONTRACT_LOG names a level.
func logger() *zap.Logger {
	level, err := zapcore.ParseLevel(os.Getenv("APICONTRACT_LOG"))
	if os.Getenv("APICONTRACT_LOG") == "" || err != nil {
		return zap.NewNop()
	}
	cfg := zap.NewDevelopmentConfig()
	cfg.Level = zap.NewAtomicLevelAt(level)
	return zap.Must(cfg.Build())
}

// mainTB is the testing.TB pgtest.NewDatabase gets in TestMain, where no
// test exists yet: its clean-ups run when the package's tests are over.
type mainTB struct {
	testing.TB // nil: pgtest calls only the methods below
}

type bootFailure string

func (*mainTB) Helper()                         {}
func (*mainTB) Cleanup(f func())                { shutdown = append(shutdown, f) }
func (*mainTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (*mainTB) Fatalf(format string, args ...any) {
	panic(bootFailure(fmt.Sprintf(format, args...)))
}

// T is what a check needs of its test. *testing.T has it, and so has the
// recorder with which TestSuitesBite runs checks against broken clients.
type T interface {
	Helper()
	Context() context.Context
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// check is one contract clause of a module interface.
type check[API any] struct {
	name string
	run  func(t T, api API)
}

// runSuite runs every check against both implementations of an interface,
// all in parallel: each check uses data of its own.
func runSuite[API any](t *testing.T, local, remote API, checks []check[API]) {
	for _, tr := range []struct {
		name string
		api  API
	}{{"in-process", local}, {"http", remote}} {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					runCheck(t, c, tr.api)
				})
			}
		})
	}
}

// runCheck runs c, turning a panic of the implementation into a failure.
func runCheck[API any](t T, c check[API], api API) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			t.Errorf("the call panicked: %v\n%s", p, buf)
		}
	}()
	c.run(t, api)
}

// pick returns the checks of a suite by name.
func pick[API any](t *testing.T, checks []check[API], names ...string) []check[API] {
	t.Helper()
	var out []check[API]
	for _, n := range names {
		i := -1
		for j, c := range checks {
			if c.name == n {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("no check %q in the suite", n)
		}
		out = append(out, checks[i])
	}
	return out
}

// --- assertions ---

// wantErr fails unless err matches target (errors.Is: same code) and keeps
// target's kind, so a not-found stays a not-found across the wire.
func wantErr(t T, err error, target *apperr.Error, what string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %s", what, target.Code)
	case !errors.Is(err, target):
		t.Errorf("%s: err = %v, want errors.Is(err, %s)", what, err, target.Code)
	case apperr.KindOf(err) != target.Kind:
		t.Errorf("%s: err = %v of kind %s, want kind %s", what, err, apperr.KindOf(err), target.Kind)
	}
}

// wantInvalidText fails unless err refuses text that is not UTF-8 as invalid
// input: the module's own error in process, or rpc.ErrInvalidText from the
// HTTP client, which cannot put such text on the wire (JSON would alter it).
func wantInvalidText(t T, err error, moduleErr *apperr.Error, what string) {
	t.Helper()
	if !isAny(err, moduleErr, rpc.ErrInvalidText) || apperr.KindOf(err) != apperr.KindInvalid {
		t.Errorf("%s: err = %v, want %s or %s, of kind invalid", what, err, moduleErr.Code, rpc.ErrInvalidText.Code)
	}
}

// isAny reports whether err matches one of targets.
func isAny(err error, targets ...*apperr.Error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// wantFields fails unless err is an *apperr.Error listing exactly fields
// (in any order) as invalid.
func wantFields(t T, err error, what string, fields ...string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: err = %v, want an *apperr.Error naming the fields %v", what, err, fields)
		return
	}
	var got []string
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Errorf("%s: the field error of %s has no message", what, f.Field)
		}
		got = append(got, f.Field)
	}
	if !sameSet(got, fields) {
		t.Errorf("%s: invalid fields %v, want %v", what, got, fields)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// noErr ends the check if err is not nil.
func noErr(t T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantEqual fails when got differs from want (see diff).
func wantEqual(t T, got, want any, what string) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s differs from what is expected:\n%s", what, d)
	}
}

// diff describes how got differs from want, or returns "". Times are
// equal when they are the same instant (one read back from JSON has
// another location than one from the database), JSON raw messages when they
// mean the same, and a nil slice equals an empty one (both are "no items";
// where the difference matters, a check asserts it).
func diff(want, got any) string {
	var out []string
	walk(&out, "", reflect.ValueOf(want), reflect.ValueOf(got))
	return strings.Join(out, "\n")
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func walk(out *[]string, path string, w, g reflect.Value) {
	add := func(format string, args ...any) {
		p := path
		if p == "" {
			p = "value"
		}
		*out = append(*out, "\t"+p+": "+fmt.Sprintf(format, args...))
	}
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			add("got %v, want %v", g, w)
		}
		return
	}
	if w.Type() != g.Type() {
		add("got a %v, want a %v", g.Type(), w.Type())
		return
	}
	switch {
	case w.Type() == timeType:
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !wt.Equal(gt) {
			add("got %v, want %v", gt, wt)
		}
		return
	case w.Type() == rawType:
		var wv, gv any
		werr := json.Unmarshal(w.Bytes(), &wv)
		gerr := json.Unmarshal(g.Bytes(), &gv)
		if werr != nil || gerr != nil || !reflect.DeepEqual(wv, gv) {
			add("got %s, want %s", g.Bytes(), w.Bytes())
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				add("got %s, want %s", show(g), show(w))
			}
			return
		}
		walk(out, path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := range w.NumField() {
			if !w.Type().Field(i).IsExported() {
				continue // the DTOs have none; time.Time is compared above
			}
			walk(out, join(path, w.Type().Field(i).Name), w.Field(i), g.Field(i))
		}
	case reflect.Slice:
		if w.Len() != g.Len() {
			add("got %d items, want %d:\n\t\tgot  %s\n\t\twant %s", g.Len(), w.Len(), brief(g), brief(w))
			return
		}
		for i := range w.Len() {
			walk(out, fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i))
		}
	case reflect.Map:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			add("got %v, want %v", g, w)
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			add("got %s, want %s", show(g), show(w))
		}
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// show formats a value for a failure message: times as RFC 3339, JSON as
// text, long strings cut short.
func show(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	switch {
	case v.Type() == timeType:
		return v.Interface().(time.Time).Format(time.RFC3339Nano)
	case v.Type() == rawType:
		return string(v.Bytes())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return show(v.Elem())
	case reflect.String:
		if s := v.String(); len(s) > 80 {
			return fmt.Sprintf("%q…(%d bytes)", s[:60], len(s))
		}
		return fmt.Sprintf("%q", v.String())
	case reflect.Struct:
		var fields []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fields = append(fields, f.Name+":"+show(v.Field(i)))
			}
		}
		return "{" + strings.Join(fields, " ") + "}"
	case reflect.Slice:
		if v.IsNil() {
			return "nil"
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = show(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// brief formats a slice of things with an ID (or a Type) by their IDs (or
// types), and any other value as show does.
func brief(v reflect.Value) string {
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Struct {
		return show(v)
	}
	for _, key := range []string{"ID", "Type"} {
		if _, ok := v.Type().Elem().FieldByName(key); ok {
			keys := make([]string, v.Len())
			for i := range keys {
				keys[i] = fmt.Sprint(v.Index(i).FieldByName(key).Interface())
			}
			return key + "s [" + strings.Join(keys, ", ") + "]"
		}
	}
	return show(v)
}

// --- asynchronous outcomes ---

// eventually calls f until it reports done, and fails the check if it has
// not by the settle deadline (a safeguard, not a timing expectation). f
// returns a description of what it saw, for the failure message.
func eventually(t T, what string, f func() (done bool, saw string)) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		done, saw := f()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not by the deadline; last saw %s", what, saw)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: the test ended; last saw %s", what, saw)
		case <-time.After(wait):
		}
	}
}

// --- data ---

// unique returns a short unique tag for names and emails.
func unique() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:12] }

// cursorID decodes a page's next cursor into the page.Request.After that
// resumes after it.
func cursorID(t T, cursor *string) uuid.UUID {
	t.Helper()
	if cursor == nil {
		t.Fatalf("no next cursor")
	}
	raw, err := base64.RawURLEncoding.DecodeString(*cursor)
	if err != nil || len(raw) != 16 {
		t.Fatalf("next cursor %q is not a page cursor: %v", *cursor, err)
	}
	return uuid.UUID(raw)
}

// --- a recorder in place of *testing.T ---

// recorder is a T that records failures instead of reporting them, for
// running a check where its failure is the expected outcome.
type recorder struct {
	ctx      context.Context
	mu       sync.Mutex
	failures []string
	logs     []string
}

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.ctx }
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit() // as testing.T does: the check's goroutine ends here
}
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// record runs c against api in a goroutine of its own (Fatalf ends it) and
// returns the failures it reported.
func record[API any](ctx context.Context, c check[API], api API) []string {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &recorder{ctx: ctx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runCheck(r, c, api)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}
