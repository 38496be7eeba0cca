package identity_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/modules/identity"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/ports/httpport"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/problem"
)

const adminPassword = "admin password for tests"

// server is a started identity process, driven without a listener.
type server struct {
	t      *testing.T
	h      http.Handler
	tokens *auth.Verifier
}

// start runs the identity module in an fx app, as cmd/app does, with env
// added to a fresh database and data directory.
func start(t *testing.T, env map[string]string, opts ...fx.Option) server {
	t.Helper()
	vars := map[string]string{
		"DATABASE_URL":       pgtest.NewDatabase(t),
		"APP_JWT_SECRET":     strings.Repeat("j", 40),
		"APP_DATA_DIR":       t.TempDir(),
		"APP_ADMIN_PASSWORD": adminPassword,
	}
	for k, v := range env {
		vars[k] = v
	}
	return startWith(t, vars, opts...)
}

func startWith(t *testing.T, vars map[string]string, opts ...fx.Option) server {
	t.Helper()
	// Read as cmd/app reads them: the process settings, then the module's.
	r := config.NewReader(func(k string) string { return vars[k] })
	cfg := config.Read(r, []string{identity.Name})
	settings := identity.Definition.Settings(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	var h *host.HTTP
	var tokens *auth.Verifier
	app := fx.New(append([]fx.Option{
		host.Platform(cfg, zaptest.NewLogger(t), nil),
		settings,
		identity.Module,
		fx.Invoke(host.Run),
		fx.NopLogger,
		fx.Populate(&h, &tokens),
	}, opts...)...)
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return server{t: t, h: h.Root, tokens: tokens}
}

// reply is an answer, its body decoded.
type reply struct {
	code   int
	header http.Header
	body   map[string]any
}

// post sends body to path from the client at ip.
func (s server) post(ip, path, body string) reply {
	s.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	r := reply{code: rec.Code, header: rec.Header()}
	if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
		s.t.Fatalf("POST %s: %d, body %q is not a JSON object", path, rec.Code, rec.Body.String())
	}
	return r
}

// requireProblem fails unless r is a problem with status and code.
func (s server) requireProblem(r reply, status int, code string) {
	s.t.Helper()
	if r.code != status || r.header.Get("Content-Type") != problem.ContentType || r.body["code"] != code ||
		r.body["type"] != problem.TypePrefix+code {
		s.t.Fatalf("want a %d %s problem, got %d %q %v", status, code, r.code, r.header.Get("Content-Type"), r.body)
	}
}

// login signs in and returns the caller the token stands for.
func (s server) login(ip, email, password string) auth.Principal {
	s.t.Helper()
	r := s.post(ip, "/auth/login", `{"email":"`+email+`","password":"`+password+`"}`)
	if r.code != http.StatusOK || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(host.TokenTTL.Seconds()) ||
		r.header.Get("Cache-Control") != "no-store" {
		s.t.Fatalf("login %s: %d %v %v", email, r.code, r.header, r.body)
	}
	token, _ := r.body["access_token"].(string)
	p, err := s.tokens.Verify(context.Background(), token)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func TestAuthRoutes(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	const ada = `{"email":"Ada@Example.com","password":"correct horse battery","name":"Ada"}`

	// Subtests run one after another: later ones use the account made here.
	// Each sends from its own address so the rate limits do not interfere.
	r := s.post("10.0.0.1", "/auth/register", ada)
	id, err := uuid.Parse(str(r.body["id"]))
	if r.code != http.StatusCreated || r.header.Get("Content-Type") != "application/json" || err != nil || len(r.body) != 1 {
		t.Fatalf("register: %d %v", r.code, r.body)
	}

	t.Run("the email exists, in another case", func(t *testing.T) {
		r := s.post("10.0.0.2", "/auth/register", strings.Replace(ada, "Ada@Example.com", " ada@EXAMPLE.com", 1))
		s.requireProblem(r, http.StatusConflict, identityapi.ErrEmailTaken.Code)
	})
	t.Run("invalid fields are listed", func(t *testing.T) {
		r := s.post("10.0.0.3", "/auth/register", `{"email":"nope","password":"short","name":""}`)
		s.requireProblem(r, http.StatusBadRequest, identityapi.ErrInvalidUser.Code)
		errs, _ := r.body["errors"].([]any)
		if len(errs) != 3 {
			t.Fatalf("errors %v", r.body["errors"])
		}
	})
	t.Run("bad JSON", func(t *testing.T) {
		for body, code := range map[string]string{
			`{"email":`:                   "http.malformed_json",
			`{"email":"a@b.co","role":1}`: "http.unknown_field",
			`{"email":1}`:                 "http.invalid_json",
			`{} {}`:                       "http.trailing_data",
			``:                            "http.empty_body",
		} {
			s.requireProblem(s.post("10.0.0.4", "/auth/register", body), http.StatusBadRequest, code)
			s.requireProblem(s.post("10.0.0.4", "/auth/login", body), http.StatusBadRequest, code)
		}
	})
	t.Run("no input is a server error", func(t *testing.T) {
		for _, body := range []string{
			`{"email":"ada\u0000@example.com","password":"correct horse battery","name":"Ada"}`,
			`{"email":"nul@example.com","password":"correct horse\u0000battery","name":"A\u0000"}`,
			`{"email":"\ud800@example.com","password":"\udfff\udfff\udfff\udfff\udfff","name":"\u2028"}`,
			`{"email":"` + strings.Repeat("a", 5000) + `@example.com","password":"` + strings.Repeat("p", 5000) + `","name":"Ada"}`,
			`{"email":null,"password":null,"name":null}`,
			`[]`, `"x"`, `1e999`,
		} {
			for _, path := range []string{"/auth/register", "/auth/login"} {
				if r := s.post("10.0.0.9", path, body); r.code >= 500 || r.code == http.StatusOK || r.code == http.StatusCreated {
					t.Errorf("POST %s %.80s: %d %v", path, body, r.code, r.body)
				}
			}
		}
	})
	t.Run("login", func(t *testing.T) {
		if p := s.login("10.0.0.5", "ada@example.com", "correct horse battery"); p != (auth.Principal{UserID: id, Role: auth.Customer}) {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("wrong password and unknown email look the same", func(t *testing.T) {
		wrong := s.post("10.0.0.6", "/auth/login", `{"email":"ada@example.com","password":"incorrect horse"}`)
		unknown := s.post("10.0.0.6", "/auth/login", `{"email":"bob@example.com","password":"correct horse battery"}`)
		s.requireProblem(wrong, http.StatusUnauthorized, identityapi.ErrInvalidCredentials.Code)
		s.requireProblem(unknown, http.StatusUnauthorized, identityapi.ErrInvalidCredentials.Code)
		if wrong.body["detail"] != unknown.body["detail"] || wrong.body["title"] != unknown.body["title"] {
			t.Fatalf("the answers differ: %v / %v", wrong.body, unknown.body)
		}
	})
	t.Run("login without a password", func(t *testing.T) {
		s.requireProblem(s.post("10.0.0.7", "/auth/login", `{"email":"ada@example.com"}`), http.StatusBadRequest, identityapi.ErrInvalidLogin.Code)
	})
	t.Run("the seeded admin logs in as admin", func(t *testing.T) {
		if p := s.login("10.0.0.8", "admin@example.com", adminPassword); p.Role != auth.Admin {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("login is limited to 10 a minute per client", func(t *testing.T) {
		for i := range httpport.DefaultLoginLimit {
			if r := s.post("10.0.1.1", "/auth/login", `{}`); r.code != http.StatusBadRequest {
				t.Fatalf("request %d: %d", i+1, r.code)
			}
		}
		requireLimited(t, s, s.post("10.0.1.1", "/auth/login", `{}`))
		// Another client, and the other route, have their own budgets.
		s.login("10.0.1.2", "ada@example.com", "correct horse battery")
		s.requireProblem(s.post("10.0.1.1", "/auth/register", `{}`), http.StatusBadRequest, identityapi.ErrInvalidUser.Code)
	})
	t.Run("register is limited to 20 a minute per client", func(t *testing.T) {
		for i := range httpport.DefaultRegisterLimit {
			if r := s.post("10.0.2.1", "/auth/register", `{}`); r.code != http.StatusBadRequest {
				t.Fatalf("request %d: %d", i+1, r.code)
			}
		}
		requireLimited(t, s, s.post("10.0.2.1", "/auth/register", ada))
	})
}

func requireLimited(t *testing.T, s server, r reply) {
	t.Helper()
	s.requireProblem(r, http.StatusTooManyRequests, "http.rate_limited")
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
}

// A test may lower the limits by supplying httpport.Limits.
func TestLimitsCanBeLowered(t *testing.T) {
	t.Parallel()
	s := start(t, nil, fx.Supply(httpport.Limits{Login: 1, Register: 1}))
	s.login("10.0.0.1", "admin@example.com", adminPassword)
	requireLimited(t, s, s.post("10.0.0.1", "/auth/login", `{}`))
	s.requireProblem(s.post("10.0.0.1", "/auth/register", `{}`), http.StatusBadRequest, identityapi.ErrInvalidUser.Code)
	requireLimited(t, s, s.post("10.0.0.1", "/auth/register", `{}`))
}

// In development without APP_ADMIN_PASSWORD, the admin password is
// generated into the data directory at the first start and kept for the
// next.
func TestDevAdminPasswordSurvivesARestart(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"DATABASE_URL":   pgtest.NewDatabase(t),
		"APP_JWT_SECRET": strings.Repeat("j", 40),
		"APP_DATA_DIR":   t.TempDir(),
		"APP_ENV":        "dev",
	}
	file := filepath.Join(vars["APP_DATA_DIR"], "admin-password")
	first := startWith(t, vars)
	password := readPassword(t, file)
	first.login("10.0.0.1", "admin@example.com", password)

	second := startWith(t, vars) // the same database and data directory
	if readPassword(t, file) != password {
		t.Fatal("the password file changed")
	}
	if p := second.login("10.0.0.1", "admin@example.com", password); p.Role != auth.Admin {
		t.Fatalf("principal %+v", p)
	}
}

func readPassword(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func str(v any) string { s, _ := v.(string); return s }
