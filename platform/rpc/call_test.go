package rpc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/rpc"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	f := &fake{}
	srv := serve(t, f, newTokens())
	_, g, reg := newClient(t, fastRetries(), srv.URL)
	ctx := t.Context()

	got, err := g.Hello(ctx, "ann")
	if err != nil || got != (Reply{Greeting: "hello ann", Count: 1}) {
		t.Fatalf("Hello: %+v, %v", got, err)
	}
	got, err = g.Greet(ctx, Input{Name: "bo", Times: 2}, true)
	if err != nil || got != (Reply{Greeting: "hi bo hi bo !", Count: 2}) {
		t.Fatalf("Greet: %+v, %v", got, err)
	}
	if err := g.Ping(ctx); err != nil { // 204, no result
		t.Fatalf("Ping: %v", err)
	}
	if err := g.Poke(ctx); err != nil {
		t.Fatalf("Poke: %v", err)
	}
	if n := f.calls.Load(); n != 4 {
		t.Fatalf("the module was called %d times, want 4", n)
	}
	if n := metric(t, reg, rpc.CallsMetric, map[string]string{"remote": module, "method": "Hello", "outcome": "ok"}); n != 1 {
		t.Fatalf("ok calls of Hello: %v", n)
	}
}

// An error-only method answers 204 and a (T, error) one 200 with the JSON result.
func TestServerStatuses(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	srv := serve(t, &fake{}, tokens)
	token, _ := tokens.Token()
	if st, _ := post(t, srv.URL, "Ping", `[]`, token); st != http.StatusNoContent {
		t.Fatalf("Ping: %d", st)
	}
	if st, _ := post(t, srv.URL, "Hello", `["x"]`, token); st != http.StatusOK {
		t.Fatalf("Hello: %d", st)
	}
}

// A module's *apperr.Error arrives as the same error, of the same kind; an
// internal error does not reveal its text and is a failure of the remote.
func TestErrorsCrossTheWire(t *testing.T) {
	t.Parallel()
	invalid := apperr.Invalid("x.invalid", apperr.FieldError{Field: "name", Message: "required"})
	for name, tc := range map[string]struct {
		err      error
		want     error // errors.Is
		kind     apperr.Kind
		attempts int32
	}{
		"not found":     {errNotFound, errNotFound, apperr.KindNotFound, 1},
		"wrapped":       {errors.Join(errors.New("ctx"), errNotFound.Wrap(errors.New("sql: no rows"))), errNotFound, apperr.KindNotFound, 1},
		"invalid":       {invalid, invalid, apperr.KindInvalid, 1},
		"conflict":      {apperr.New(apperr.KindConflict, "x.conflict", "taken"), apperr.New(0, "x.conflict", ""), apperr.KindConflict, 1},
		"module down":   {apperr.New(apperr.KindUnavailable, "x.down", "later"), apperr.New(0, "x.down", ""), apperr.KindUnavailable, 1},
		"internal":      {errInternal, rpc.ErrUnavailable, apperr.KindUnavailable, 3},
		"internal kind": {apperr.New(apperr.KindInternal, "x.bug", "oops"), rpc.ErrUnavailable, apperr.KindUnavailable, 3},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &fake{}
			f.setHook(failWith(tc.err))
			srv := serve(t, f, newTokens())
			_, g, _ := newClient(t, fastRetries(), srv.URL)
			_, err := g.Hello(t.Context(), "ann")
			if !errors.Is(err, tc.want) || apperr.KindOf(err) != tc.kind {
				t.Fatalf("got %v (kind %v), want %v (kind %v)", err, apperr.KindOf(err), tc.want, tc.kind)
			}
			if strings.Contains(err.Error(), "password") {
				t.Fatalf("the internal error leaked: %v", err)
			}
			if n := f.calls.Load(); n != tc.attempts {
				t.Fatalf("%d attempts, want %d", n, tc.attempts)
			}
			var e *apperr.Error
			if errors.As(err, &e) && tc.want == invalid && len(e.Fields) != 1 {
				t.Fatalf("fields lost: %+v", e)
			}
		})
	}
}

func TestBadCalls(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	f := &fake{}
	srv := serve(t, f, tokens)
	token, err := tokens.Token()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		method, body string
		code         string
	}{
		"too few arguments":  {"Hello", `[]`, rpc.ErrBadCall.Code},
		"too many arguments": {"Hello", `["a","b"]`, rpc.ErrBadCall.Code},
		"arguments to none":  {"Ping", `[1]`, rpc.ErrBadCall.Code},
		"wrong type":         {"Hello", `[42]`, rpc.ErrBadCall.Code},
		"wrong field type":   {"Greet", `[{"name":"a","times":"x"},true]`, rpc.ErrBadCall.Code},
		"not an array":       {"Hello", `{"name":"a"}`, "http.invalid_json"},
		"malformed":          {"Hello", `["a"`, "http.malformed_json"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, p := post(t, srv.URL, tc.method, tc.body, token)
			if st != http.StatusBadRequest || p.Code != tc.code {
				t.Fatalf("%d %+v, want 400 %s", st, p, tc.code)
			}
		})
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("a bad call reached the module %d times", n)
	}
}

// The client reports a bad call as the module's answer: not retried.
func TestBadCallThroughTheClient(t *testing.T) {
	t.Parallel()
	f := &fake{}
	srv := serve(t, f, newTokens())
	c, _, _ := newClient(t, fastRetries(), srv.URL)
	err := c.Call(t.Context(), "Hello", true, new(Reply), "a", "b")
	if !errors.Is(err, rpc.ErrBadCall) || apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("got %v", err)
	}
	if err := c.Call(t.Context(), "NoSuchMethod", false, nil); !errors.Is(err, rpc.ErrUnavailable) {
		t.Fatalf("unknown method: %v", err)
	}
}

func TestServiceTokenRequired(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	f := &fake{}
	srv := serve(t, f, tokens)
	userToken := authtest.NewKey(t).Token(t, auth.Admin)
	otherSecret, err := auth.NewServiceTokens([]byte(strings.Repeat("o", 40)), "test").Token()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed := func(c jwt.RegisteredClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(serviceKey())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := func(exp time.Time) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Subject: "test", Audience: jwt.ClaimStrings{auth.ServiceAudience},
			IssuedAt: jwt.NewNumericDate(exp.Add(-auth.ServiceTokenTTL)), ExpiresAt: jwt.NewNumericDate(exp)}
	}
	if _, err := tokens.Verify(signed(claims(now.Add(time.Minute)))); err != nil {
		t.Fatalf("the derived key does not match auth's: %v", err)
	}
	for name, tc := range map[string]struct {
		token  string
		header []string
	}{
		"none":                 {"", nil},
		"garbage":              {"not.a.token", nil},
		"expired":              {signed(claims(now.Add(-time.Minute))), nil},
		"user token":           {userToken, nil},
		"user token as bearer": {"", []string{"Authorization", "Bearer " + userToken}},
		"other secret":         {otherSecret, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, p := post(t, srv.URL, "Ping", `[]`, tc.token, tc.header...)
			if st != http.StatusUnauthorized || p.Code != auth.ErrInvalidServiceToken.Code {
				t.Fatalf("%d %+v", st, p)
			}
		})
	}

	// Through a client: the refusal is no answer of the module but a
	// deployment whose processes disagree on APP_JWT_SECRET. It counts
	// against the remote (the breaker opens) and is never retried.
	c, g, _ := newClientWith(t, auth.NewServiceTokens([]byte(strings.Repeat("o", 40)), "test"), fastRetries(), srv.URL)
	for range 10 {
		if err := g.Ping(t.Context()); !errors.Is(err, rpc.ErrUnavailable) {
			t.Fatalf("other secret: %v", err)
		}
	}
	if st := c.BreakerState(); st.String() != "open" {
		t.Fatalf("breaker %v", st)
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("a refused call reached the module %d times", n)
	}
}

// The Request-Timeout header bounds the module's context: it does not work
// on after its caller gave up.
func TestRemoteDeadline(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	f := &fake{}
	type deadline struct {
		set  bool
		left time.Duration // may be negative on a busy machine
	}
	deadlines := make(chan deadline, 10)
	f.setHook(func(ctx context.Context, method string) error {
		d, ok := ctx.Deadline()
		deadlines <- deadline{ok, time.Until(d)}
		if !ok {
			return nil
		}
		if method == "Poke" { // wait for the context to end
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	srv := serve(t, f, tokens)
	token, _ := tokens.Token()

	if st, _ := post(t, srv.URL, "Ping", `[]`, token); st != http.StatusNoContent || (<-deadlines).set {
		t.Fatalf("without the header: %d, or a deadline", st)
	}
	for _, bad := range []string{"0", "-5", "soon", "9223372036854775807"} {
		if st, _ := post(t, srv.URL, "Ping", `[]`, token, rpc.TimeoutHeader, bad); st != http.StatusNoContent {
			t.Fatalf("Request-Timeout %q: %d", bad, st)
		}
		if d := <-deadlines; d.set && d.left < time.Hour {
			t.Fatalf("Request-Timeout %q: a deadline in %v", bad, d.left)
		}
	}
	// The module's context ends: WriteError makes it a 504 http.timeout.
	st, p := post(t, srv.URL, "Poke", `[]`, token, rpc.TimeoutHeader, "50")
	if d := <-deadlines; !d.set || d.left > 50*time.Millisecond {
		t.Fatalf("deadline %+v, want within 50ms", d)
	}
	if st != http.StatusGatewayTimeout || p.Code != "http.timeout" {
		t.Fatalf("%d %+v", st, p)
	}

	// The client sends the time left of the attempt.
	_, g, _ := newClient(t, rpc.Options{Timeout: 3 * time.Second}, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := g.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if d := <-deadlines; !d.set || d.left > 3*time.Second {
		t.Fatalf("attempt timeout 3s: deadline %+v", d)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := g.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if d := <-deadlines; !d.set || d.left > 2*time.Second {
		t.Fatalf("caller deadline 2s: deadline %+v", d)
	}
}

func TestMountRefusesBadInterfaces(t *testing.T) {
	t.Parallel()
	type noContext interface{ M(string) error }
	type noError interface{ M(context.Context) string }
	type threeResults interface {
		M(context.Context) (int, int, error)
	}
	type variadic interface {
		M(context.Context, ...string) error
	}
	for name, mount := range map[string]func(){
		"not an interface": func() { rpc.Mount[*fake](chiRouter(), "x", &fake{}, nil) },
		"no context":       func() { rpc.Mount[noContext](chiRouter(), "x", nil, nil) },
		"no error":         func() { rpc.Mount[noError](chiRouter(), "x", nil, nil) },
		"three results":    func() { rpc.Mount[threeResults](chiRouter(), "x", nil, nil) },
		"variadic":         func() { rpc.Mount[variadic](chiRouter(), "x", nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Mount did not panic")
				}
			}()
			mount()
		})
	}
}

func TestNewClientRefusesBadBases(t *testing.T) {
	t.Parallel()
	for _, bases := range [][]string{nil, {"localhost:8080"}, {"ftp://x"}, {"http://"}, {"http://ok", "::"}} {
		if _, err := rpc.NewClient(module, bases, newTokens(), rpc.Options{}, nil, nil); err == nil {
			t.Errorf("%q accepted", bases)
		}
	}
	c, err := rpc.NewClient(module, []string{"http://a:1/"}, newTokens(), rpc.Options{}, nil, nil)
	if err != nil || c.Module() != module {
		t.Fatalf("%v %v", c, err)
	}
}

// No principal crosses the wire: a module API that acts for someone takes
// that someone as an argument (orderingapi.API.CancelOrder's by), so a
// module never trusts a header for who the user is. A principal in the
// caller's context stays there, and a header claiming one is ignored.
func TestNoPrincipalCrossesTheWire(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	f := &fake{}
	seen := make(chan *auth.Principal, 10)
	f.setHook(func(ctx context.Context, _ string) error {
		if p, ok := auth.FromContext(ctx); ok {
			seen <- &p
		} else {
			seen <- nil
		}
		return nil
	})
	srv := serve(t, f, tokens)
	_, g, _ := newClientWith(t, tokens, rpc.Options{}, srv.URL)

	p := auth.Principal{UserID: uuid.New(), Role: auth.Admin}
	if err := g.Ping(auth.WithPrincipal(t.Context(), p)); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != nil {
		t.Fatalf("the module saw the caller's principal %v", *got)
	}
	token, _ := tokens.Token()
	if st, _ := post(t, srv.URL, "Ping", `[]`, token, "X-Principal", p.UserID.String()+" admin"); st != http.StatusNoContent {
		t.Fatalf("a call with a principal header: %d", st)
	}
	if got := <-seen; got != nil {
		t.Fatalf("a principal header gave the principal %v", *got)
	}
}

// Text that is not valid UTF-8 cannot cross as JSON unchanged: the call is
// refused before it is sent.
func TestInvalidTextRefused(t *testing.T) {
	t.Parallel()
	f := &fake{}
	srv := serve(t, f, newTokens())
	c, _, _ := newClient(t, rpc.Options{}, srv.URL)
	bad := "caf\xe9"
	type nested struct {
		Tags  []string
		Attrs map[string]string
		Next  *Input
	}
	for name, arg := range map[string]any{
		"string":    bad,
		"field":     Input{Name: bad},
		"pointer":   &Input{Name: bad},
		"slice":     []string{"ok", bad},
		"map value": map[string]string{"k": bad},
		"map key":   map[string]int{bad: 1},
		"deep":      nested{Next: &Input{Name: bad}},
		"in a list": []nested{{Tags: []string{bad}}},
	} {
		if err := c.Call(t.Context(), "Hello", true, new(Reply), arg); !errors.Is(err, rpc.ErrInvalidText) || apperr.KindOf(err) != apperr.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("%d refused calls reached the module", n)
	}
	// Bytes travel as base64, and valid text of any script is fine.
	type blob struct{ Data []byte }
	if err := c.Call(t.Context(), "Greet", false, new(Reply), Input{Name: "café 日本"}, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), "Greet", false, new(Reply), blob{Data: []byte(bad)}, true); err != nil {
		t.Fatalf("bytes: %v", err) // not text: not refused (the server ignores the unknown field)
	}
}
