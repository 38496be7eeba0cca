// Package pgtest gives tests a fresh, real Postgres database of their own.
//
// Tests talk to the server named by TEST_DATABASE_URL (default: the local
// server on 127.0.0.1:5432 as user postgres, see DefaultURL). Each call creates a new
// database and drops it when the test ends, with the module roles made for
// it, so tests can run in parallel.
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

	"github.com/modmono/shop/platform/pgxdb"
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
			return
		}
		dropRoles(ctx, tb, conn, pgxdb.DefaultRolePrefix(name))
	})
	return WithDatabase(serverURL, name)
}

// dropRoles drops the module roles the app created for a database now
// dropped: roles are cluster-wide and would pile up test after test.
func dropRoles(ctx context.Context, tb testing.TB, conn *pgx.Conn, prefix string) {
	rows, err := conn.Query(ctx, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, prefix)
	if err == nil {
		var roles []string
		if roles, err = pgx.CollectRows(rows, pgx.RowTo[string]); err == nil {
			for _, r := range roles {
				if _, err = conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		tb.Logf("pgtest: drop the roles %s*: %v", prefix, err)
	}
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
