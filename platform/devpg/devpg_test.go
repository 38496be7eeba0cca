package devpg_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/platform/devpg"
)

// needBinaries skips the test unless PostgreSQL server programs are installed.
func needBinaries(t *testing.T) {
	t.Helper()
	if _, err := devpg.FindBinDir(devpg.SearchDirs()); err != nil {
		t.Skip("no PostgreSQL server programs installed:", err)
	}
}

// dataDir returns a data directory path in a fresh temporary directory.
// Not t.TempDir: as root, the server runs as the postgres user, who cannot
// enter t.TempDir's 0700 root-owned directories.
func dataDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "devpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) }) // registered first, so it runs after the servers stop
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(parent, "postgres")
}

func start(t *testing.T, o devpg.Options) *devpg.Server {
	t.Helper()
	o.Logger = zaptest.NewLogger(t)
	s, err := devpg.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// query connects to dsn and runs sql, returning its single text result.
func query(ctx context.Context, dsn, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, sql).Scan(&v)
	return v, err
}

func TestStartReuseStop(t *testing.T) {
	needBinaries(t)
	ctx := t.Context()
	dir := dataDir(t)

	first := start(t, devpg.Options{Dir: dir})
	if !strings.HasPrefix(first.DSN(), "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(first.DSN(), "/shop?sslmode=disable") {
		t.Errorf("DSN = %q", first.DSN())
	}
	if v, err := query(ctx, first.DSN(), "SELECT 1::text"); err != nil || v != "1" {
		t.Fatalf("select 1 = %q, %v", v, err)
	}
	if v, err := query(ctx, first.DSN(), "SELECT current_database()"); err != nil || v != "shop" {
		t.Fatalf("current_database() = %q, %v", v, err)
	}

	second := start(t, devpg.Options{Dir: dir})
	if second.DSN() != first.DSN() {
		t.Fatalf("second Start on a running server: DSN %q, want the running one's %q", second.DSN(), first.DSN())
	}
	if err := second.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := query(ctx, first.DSN(), "SELECT 1::text"); err != nil {
		t.Fatalf("Stop of a reused server stopped it: %v", err)
	}

	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := query(ctx, first.DSN(), "SELECT 1::text"); err == nil {
		t.Fatal("server still answers after Stop")
	}

	// The existing cluster starts again, on the port asked for, with its
	// database still there.
	again := start(t, devpg.Options{Dir: dir, DBName: "other", Port: first.Port()})
	if again.Port() != first.Port() {
		t.Errorf("restarted on port %d, asked for %d", again.Port(), first.Port())
	}
	if v, err := query(ctx, strings.Replace(again.DSN(), "/other?", "/shop?", 1), "SELECT current_database()"); err != nil || v != "shop" {
		t.Fatalf("after restart: current_database() = %q, %v", v, err)
	}
	if v, err := query(ctx, again.DSN(), "SELECT current_database()"); err != nil || v != "other" {
		t.Fatalf("after restart: current_database() = %q, %v", v, err)
	}
}

func TestStartRefusesOtherVersion(t *testing.T) {
	needBinaries(t)
	dir := dataDir(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("9.6\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := devpg.Start(t.Context(), devpg.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL 9.6 cluster") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want one naming %s and its version 9.6", err, dir)
	}
}

func TestStartAsRootNeedsTraversableParents(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	needBinaries(t)
	closed, err := os.MkdirTemp("", "devpg-closed-") // 0700, owned by root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(closed) })
	_, err = devpg.Start(t.Context(), devpg.Options{Dir: filepath.Join(closed, "pg")})
	if err == nil || !strings.Contains(err.Error(), "directory "+closed+" ") {
		t.Fatalf("err = %v, want one naming %s", err, closed)
	}
}

func TestFindBinDir(t *testing.T) {
	_, err := devpg.FindBinDir(nil)
	for _, want := range []string{"sudo apt-get install postgresql", "brew install postgresql@16", "DATABASE_URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no programs: err = %v, want it to say %q", err, want)
		}
	}

	partial, full := t.TempDir(), t.TempDir()
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if err := os.WriteFile(filepath.Join(full, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if name != "postgres" {
			if err := os.WriteFile(filepath.Join(partial, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, err := devpg.FindBinDir([]string{partial, full}); err != nil || got != full {
		t.Fatalf("FindBinDir = %q, %v; want %q (the one with all programs)", got, err, full)
	}
}
