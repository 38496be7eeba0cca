// Package pgtest gives tests a fresh, real Postgres database of their own.
//
// Tests talk to the server named by TEST_DATABASE_URL (default: the local
// server on 127.0.0.1:5432 as user postgres, see DefaultURL). Each call creates a new
// database and drops it when the test ends, so tests can run in parallel.
package pgtest

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DefaultURL is used when TEST_DATABASE_URL is not set. The password is the
// one scripts/services.sh gives the postgres role where the server asks for
// one; a server that trusts local connections ignores it.
const DefaultURL = "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the URL of the test server's maintenance database.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database and returns a URL for it that
// connects with the server URL's (role-creating) credentials.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return NewDatabaseOn(tb, ServerURL())
}

// NewDatabaseOn is NewDatabase on the server of serverURL (a private
// server a test starts, say).
func NewDatabaseOn(tb testing.TB, serverURL string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		tb.Fatalf("pgtest: server URL: %v", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("pgtest: connect to test Postgres (%s:%d): %v", cfg.Host, cfg.Port, err)
	}
	defer conn.Close(ctx)
	name := "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return WithDatabase(serverURL, name)
}

// WithDatabase returns dsn with its database name replaced by name.
func WithDatabase(dsn, name string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		panic(err)
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))),
		Path: "/" + name, RawQuery: "sslmode=disable", User: url.User(cfg.User)}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	}
	return u.String()
}
