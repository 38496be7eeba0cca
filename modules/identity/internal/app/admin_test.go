package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/app"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/pgtest"
)

// logs captures a logger's entries.
type logs struct{ *observer.ObservedLogs }

func newLogs() (*zap.Logger, logs) {
	core, observed := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs{observed}
}

// text renders every entry with its fields, to search for secrets.
func (l logs) text() string {
	var b strings.Builder
	for _, e := range l.All() {
		fmt.Fprintf(&b, "%s %v\n", e.Message, e.ContextMap())
	}
	return b.String()
}

// login fails the test unless password logs email in with role.
func (e env) login(t *testing.T, email, password string, role auth.Role) {
	t.Helper()
	tok, err := e.svc.Login(context.Background(), identityapi.LoginInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	if p, err := e.tokens.Verify(context.Background(), tok.AccessToken); err != nil || p.Role != role {
		t.Fatalf("principal %+v, %v; want role %s", p, err, role)
	}
}

func (e env) hash(t *testing.T, email string) string {
	t.Helper()
	var h string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE email = $1`, email).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSeedAdminInProductionCreatesItOnceAndNeverShowsThePassword(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	log, observed := newLogs()
	var stdout bytes.Buffer
	cfg := app.AdminConfig{Email: " Root@Example.com", Password: "prod admin secret", Stdout: &stdout, Log: log}
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	first := e.hash(t, "root@example.com")
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if e.hash(t, "root@example.com") != first {
		t.Fatal("an unchanged password was hashed again")
	}
	evs := e.registered(t)
	if len(evs) != 1 || evs[0].Role != auth.Admin || evs[0].Email != "root@example.com" || evs[0].Name != app.AdminName {
		t.Fatalf("events %+v", evs)
	}
	e.login(t, "root@example.com", "prod admin secret", auth.Admin)
	if stdout.Len() != 0 || strings.Contains(observed.text(), "prod admin secret") {
		t.Fatalf("production showed the password:\nstdout %q\nlogs %s", stdout.String(), observed.text())
	}
	if observed.FilterMessage("admin account ready").Len() != 2 {
		t.Fatalf("logs:\n%s", observed.text())
	}
}

// A restart with the admin there and its password unchanged checks the
// password and hashes nothing: each argon2 computation takes 19 MiB, which
// the process keeps until the runtime returns it. Not parallel: it counts
// the whole process's allocations.
func TestSeedAdminRestartComputesArgon2Once(t *testing.T) {
	e, ctx := newEnv(t), context.Background()
	cfg := app.AdminConfig{Email: "admin@example.com", Password: "unchanged password"}
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	const argon2 = 19 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > argon2*3/2 {
		t.Fatalf("the restart allocated %d MiB, more than one argon2 computation", got>>20)
	}
}

func TestSeedAdminFollowsTheConfiguredPassword(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	cfg := app.AdminConfig{Email: "admin@example.com", Password: "first admin password"}
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Password = "second admin password"
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	e.login(t, "admin@example.com", "second admin password", auth.Admin)
	if _, err := e.svc.Login(ctx, identityapi.LoginInput{Email: "admin@example.com", Password: "first admin password"}); !errors.Is(err, identityapi.ErrInvalidCredentials) {
		t.Fatalf("the old password still works: %v", err)
	}
	if n := len(e.registered(t)); n != 1 {
		t.Fatalf("%d events", n)
	}
}

// A hash with weaker parameters is replaced even when the password matches.
func TestSeedAdminUpgradesAnOutdatedHash(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	cfg := app.AdminConfig{Email: "admin@example.com", Password: "password12"}
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	weak := "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$" + keyFor("password12", "somesaltsomesalt", 1, 8, 1)
	if _, err := e.db.Pool.Exec(ctx, `UPDATE users SET password_hash = $1`, weak); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if h := e.hash(t, "admin@example.com"); app.NeedsRehash(h) {
		t.Fatalf("still outdated: %s", h)
	}
	e.login(t, "admin@example.com", "password12", auth.Admin)
}

func TestSeedAdminPromotesAnExistingCustomer(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	reg, err := e.svc.Register(ctx, customer("boss@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	log, observed := newLogs()
	if err := e.svc.SeedAdmin(ctx, app.AdminConfig{Email: "boss@example.com", Password: "configured secret", Log: log}); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.GetUser(ctx, reg.ID)
	if err != nil || u.Role != auth.Admin {
		t.Fatalf("%+v, %v", u, err)
	}
	e.login(t, "boss@example.com", "configured secret", auth.Admin)
	if n := len(e.registered(t)); n != 1 || observed.FilterLevelExact(zapcore.WarnLevel).Len() != 1 {
		t.Fatalf("%d events; logs:\n%s", n, observed.text())
	}
}

// Processes starting together (separate pools on one database, one data
// directory) agree on one admin, one event and, in development, one
// generated password.
func TestSeedAdminConcurrently(t *testing.T) {
	t.Parallel()
	dsn, dir := pgtest.NewDatabase(t), t.TempDir()
	const n = 4
	services := make([]*app.Service, n)
	for i := range services {
		services[i] = envOn(t, dsn).svc
	}
	e := envOn(t, dsn)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, svc := range services {
		wg.Go(func() {
			errs <- svc.SeedAdmin(context.Background(), app.AdminConfig{Email: "admin@example.com", Dev: true, DataDir: dir})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.count(t, `SELECT count(*) FROM users`) != 1 || len(e.registered(t)) != 1 {
		t.Fatalf("%d admins, %d events", e.count(t, `SELECT count(*) FROM users`), len(e.registered(t)))
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("data dir holds %v (%v), want only the password file", entries, err)
	}
	e.login(t, "admin@example.com", readFile(t, filepath.Join(dir, app.AdminPasswordFile)), auth.Admin)
}

func TestDevAdminPasswordIsGeneratedOnceAndReused(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	dir := filepath.Join(t.TempDir(), "data") // created on first use
	file := filepath.Join(dir, app.AdminPasswordFile)
	log, observed := newLogs()
	var stdout bytes.Buffer
	cfg := app.AdminConfig{Email: "admin@example.com", Dev: true, DataDir: dir, Stdout: &stdout, Log: log}
	if err := e.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	password := readFile(t, file)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{24}$`).MatchString(password) {
		t.Fatalf("generated password %q", password)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", info.Mode(), err)
	}
	line := "admin login: admin@example.com / " + password + "\n"
	if stdout.String() != line || strings.Contains(observed.text(), password) {
		t.Fatalf("the login was not shown:\nstdout %q\nlogs %s", stdout.String(), observed.text())
	}
	e.login(t, "admin@example.com", password, auth.Admin)

	// A restart: another service instance, the same database and data directory.
	stdout.Reset()
	restarted := envOn(t, e.dsn)
	if err := restarted.svc.SeedAdmin(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	again, err := os.Stat(file)
	if err != nil || readFile(t, file) != password || !again.ModTime().Equal(info.ModTime()) || stdout.String() != line {
		t.Fatalf("the password changed or was rewritten (%v); stdout %q", err, stdout.String())
	}
	e.login(t, "admin@example.com", password, auth.Admin)
	if n := len(e.registered(t)); n != 1 {
		t.Fatalf("%d events", n)
	}
}

// In development a configured password is used as is and not repeated.
func TestDevAdminWithAConfiguredPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	var stdout bytes.Buffer
	cfg := app.AdminConfig{Email: "admin@example.com", Password: "configured secret", Dev: true, DataDir: dir, Stdout: &stdout}
	if err := e.svc.SeedAdmin(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, app.AdminPasswordFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a password file was written: %v", err)
	}
	if out := stdout.String(); !strings.HasPrefix(out, "admin login: admin@example.com / ") || strings.Contains(out, "configured secret") {
		t.Fatalf("stdout %q", out)
	}
	e.login(t, "admin@example.com", "configured secret", auth.Admin)
}

func TestSeedAdminRefusesABadConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	emptyFileDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(emptyFileDir, app.AdminPasswordFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cfg  app.AdminConfig
		want string // in the error
	}{
		"no password in production":  {app.AdminConfig{Email: "admin@example.com"}, "APP_ADMIN_PASSWORD is required"},
		"password breaks the policy": {app.AdminConfig{Email: "admin@example.com", Password: "tiny-pw"}, "APP_ADMIN_PASSWORD"},
		"password is the email":      {app.AdminConfig{Email: "admin@example.com", Password: "Admin@example.com"}, "must not be the email"},
		"invalid email":              {app.AdminConfig{Email: "admin@localhost", Password: "long enough secret"}, "email"},
		"empty password file":        {app.AdminConfig{Email: "admin@example.com", Dev: true, DataDir: emptyFileDir}, "is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := e.svc.SeedAdmin(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error mentioning %q", err, tc.want)
			}
			if tc.cfg.Password != "" && strings.Contains(err.Error(), tc.cfg.Password) {
				t.Fatalf("the error repeats the password: %v", err)
			}
		})
	}
	if n := e.count(t, `SELECT count(*) FROM users`); n != 0 {
		t.Fatalf("%d users stored", n)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
