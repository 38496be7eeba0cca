package pgxdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// Two deployments in two databases of one cluster get roles of their own:
// neither's role can read the other's schema, opening one does not change
// the other's password, and a restart changes no password.
func TestDeploymentsOnOneClusterKeepTheirRolesApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsnA, dsnB := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	a := open(t, dsnA, "pgxdbshared")
	passwordA := storedVerifier(t, a.Role)
	if _, err := a.Pool.Exec(ctx, `INSERT INTO things (id, name) VALUES (1, 'a secret of A')`); err != nil {
		t.Fatal(err)
	}
	b := open(t, dsnB, "pgxdbshared")
	if a.Role == b.Role {
		t.Fatalf("both deployments use role %s", a.Role)
	}
	if got := storedVerifier(t, a.Role); got != passwordA {
		t.Error("opening the second deployment changed the first one's password")
	}

	// B's role, connected to A's database, cannot read A's schema.
	cfg := b.Pool.Config().ConnConfig.Copy()
	cfg.Database = a.Pool.Config().ConnConfig.Database
	intruder, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close(ctx)
	var name string
	err = intruder.QueryRow(ctx, `SELECT name FROM pgxdbshared.things`).Scan(&name)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("B's role read A's schema: %q, %v", name, err)
	}

	// A restart reads the kept password back.
	a.Close()
	again := open(t, dsnA, "pgxdbshared")
	if again.Role != a.Role || storedVerifier(t, a.Role) != passwordA {
		t.Errorf("a restart changed the role (%s, was %s) or its password", again.Role, a.Role)
	}
	// No module role can read the kept passwords.
	err = again.Pool.QueryRow(ctx, `SELECT password FROM `+pgxdb.CredentialsTable+` LIMIT 1`).Scan(&name)
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("a module role read the passwords: %v", err)
	}
}

// A role of the chosen name that this database did not create (another
// deployment's, with the same APP_DB_ROLE_PREFIX) is refused, not taken
// over: taking it over would reset its password under its owner.
func TestOpenRefusesAnotherDeploymentsRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prefix := "shop_" + strings.ToLower(strings.ReplaceAll(t.Name(), "Test", ""))[:12] + "_"
	t.Cleanup(func() { dropRole(t, prefix+"pgxdbtaken") }) // once the databases are gone
	a, err := pgxdb.Open(ctx, pgtest.NewDatabase(t), "pgxdbtaken", migrations, nil, pgxdb.WithRolePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := storedVerifier(t, a.Role)
	_, err = pgxdb.Open(ctx, pgtest.NewDatabase(t), "pgxdbtaken", migrations, nil, pgxdb.WithRolePrefix(prefix))
	if !errors.Is(err, pgxdb.ErrRoleTaken) || !strings.Contains(err.Error(), "APP_DB_ROLE_PREFIX") {
		t.Fatalf("another database with the same prefix: %v", err)
	}
	if storedVerifier(t, a.Role) != before {
		t.Error("the refused bootstrap changed the password")
	}
}

// A schema made by a process of an earlier version, owned by the old
// cluster-wide role shop_<module>, is handed over to the deployment's role
// with its tables and data; the old role is left in place.
func TestOpenHandsOverASchemaOfTheOldRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := "shop_" + strings.ToLower(t.Name())[:20]
	t.Cleanup(func() { dropRole(t, old) }) // once the database is gone
	dsn := pgtest.NewDatabase(t)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{
		`CREATE ROLE ` + old + ` LOGIN NOINHERIT`,
		`CREATE SCHEMA pgxdbold AUTHORIZATION ` + old,
		`SET ROLE ` + old,
		`CREATE TABLE pgxdbold.schema_version (version int4 NOT NULL)`,
		`INSERT INTO pgxdbold.schema_version VALUES (2)`,
		`CREATE TABLE pgxdbold.things (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)`,
		`INSERT INTO pgxdbold.things (name) VALUES ('kept')`,
		`CREATE FUNCTION pgxdbold.answer() RETURNS int LANGUAGE sql AS 'SELECT 42'`,
		`RESET ROLE`,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db := open(t, dsn, "pgxdbold")
	var name string
	var answer int
	if err := db.Pool.QueryRow(ctx, `INSERT INTO things (name) VALUES ('new') RETURNING (SELECT name FROM things WHERE id = 1), answer()`).Scan(&name, &answer); err != nil || name != "kept" || answer != 42 {
		t.Fatalf("the deployment's role on the old schema: %q %d %v", name, answer, err)
	}
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, old).Scan(&exists); err != nil || !exists {
		t.Errorf("the old role was dropped (%v)", err)
	}
}

func TestDefaultRolePrefix(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("warehouse_", 8)
	for _, c := range []struct{ database, want string }{
		{"shop", "shop_shop_"},
		{"test_0123456789abcdef", "shop_test_0123456789abcdef_"},
		{"my-db", "shop_my_db_"}, // then a hash: see below
	} {
		if got := pgxdb.DefaultRolePrefix(c.database); !strings.HasPrefix(got, c.want[:len(c.want)-1]) || !pgxdb.ValidRolePrefix(got) {
			t.Errorf("DefaultRolePrefix(%q) = %q, want it to start with %q and be valid", c.database, got, c.want)
		}
	}
	if pgxdb.DefaultRolePrefix("shop") != "shop_shop_" {
		t.Errorf("a plain name is kept as is: %q", pgxdb.DefaultRolePrefix("shop"))
	}
	if a, b := pgxdb.DefaultRolePrefix("my-db"), pgxdb.DefaultRolePrefix("my_db"); a == b {
		t.Errorf("my-db and my_db share the prefix %s", a)
	}
	if a, b := pgxdb.DefaultRolePrefix(long+"1"), pgxdb.DefaultRolePrefix(long+"2"); a == b || len(a) > pgxdb.MaxRolePrefix || !pgxdb.ValidRolePrefix(a) {
		t.Errorf("long names: %q and %q", a, b)
	}
	if got := pgxdb.DefaultRolePrefix("Ünïcode DB"); !pgxdb.ValidRolePrefix(got) {
		t.Errorf("DefaultRolePrefix of a name with other characters: %q", got)
	}
}

func open(t *testing.T, dsn, module string) *pgxdb.DB {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), dsn, module, migrations, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// storedVerifier is the role's password as the server keeps it (a SCRAM
// verifier, salted: a password set again, even to the same value, differs).
func storedVerifier(t *testing.T, role string) string {
	t.Helper()
	var v string
	query(t, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = $1`, role).Scan(&v)
	})
	if v == "" {
		t.Fatalf("role %s has no password", role)
	}
	return v
}

func dropRole(t *testing.T, role string) {
	query(t, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{role}.Sanitize())
		return err
	})
}

func query(t *testing.T, f func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := f(ctx, c); err != nil {
		t.Fatal(err)
	}
}
