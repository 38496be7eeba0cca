package pgxdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Roles are cluster-wide in Postgres while schemas belong to one database,
// so a module's role is named per deployment: prefix+module, the prefix
// being APP_DB_ROLE_PREFIX or, by default, derived from the database's
// name. Two deployments in two databases of one cluster get roles of their
// own, so neither can read the other's schemas.
//
// Each role gets a random password when it is created. It is kept in
// CredentialsTable, in a schema of the bootstrap role that no module role
// can reach, and read back at every later start: it is never derived from
// other values (a passwordless bootstrap credential would make it
// computable) and never reset (a second deployment would lock the first
// one out).

// CredentialsSchema holds the module roles' passwords in each database the
// app bootstraps; only the bootstrap role (and superusers) can read it.
const CredentialsSchema = "shop_bootstrap"

// CredentialsTable is the table of module role passwords.
const CredentialsTable = CredentialsSchema + ".role_passwords"

// MaxRolePrefix is the longest role prefix: with the longest module name
// (31) it stays within Postgres' 63-byte identifiers.
const MaxRolePrefix = 32

var validPrefix = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ValidRolePrefix reports whether prefix can start a module role's name:
// lower-case letters, digits and underscores, a letter first, at most
// MaxRolePrefix bytes.
func ValidRolePrefix(prefix string) bool {
	return len(prefix) <= MaxRolePrefix && validPrefix.MatchString(prefix)
}

var notIdentChars = regexp.MustCompile(`[^a-z0-9]+`)

// DefaultRolePrefix is the role prefix of a deployment whose database is
// named database: "shop_<database>_", lower-cased, every run of other
// characters than letters and digits made one underscore, and a long name
// shortened with a hash of the whole so distinct names stay distinct.
func DefaultRolePrefix(database string) string {
	name := strings.Trim(notIdentChars.ReplaceAllString(strings.ToLower(database), "_"), "_")
	const room = MaxRolePrefix - len("shop_") - len("_")
	if name != database || len(name) > room {
		// Shortened or changed: a hash of the real name keeps "my-db" and
		// "my_db" apart.
		sum := sha256.Sum256([]byte(database))
		name = strings.TrimRight(name[:min(len(name), room-9)], "_") + "_" + hex.EncodeToString(sum[:4])
	}
	return "shop_" + name + "_"
}

// RoleName is the role of module under prefix.
func RoleName(prefix, module string) string { return prefix + module }

// Querier runs a query returning one row (a *pgx.Conn, a pool, a
// transaction).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ModuleRole returns the role that owns module's schema in the database q
// is connected to, the role the module's pools connect as there; "" when
// there is no such schema.
func ModuleRole(ctx context.Context, q Querier, module string) (string, error) {
	var role string
	err := q.QueryRow(ctx, `SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1`, module).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return role, err
}

// credential is a module role and its password.
type credential struct{ role, password string }

// ErrRoleTaken means a module role exists on the cluster but its password
// is not kept in this database: another deployment, or another database,
// uses that name.
var ErrRoleTaken = errors.New("the role exists on the cluster but its password is not kept in this database")

// ensureRole returns role with its password, creating the role with a new
// random password, kept in CredentialsTable, when it does not exist yet.
func ensureRole(ctx context.Context, conn *pgx.Conn, role string) (cred credential, err error) {
	cred.role = role
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// One bootstrap at a time in this database: processes starting
		// together create the role and its password once.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('shop.pgxdb.bootstrap', 0))`); err != nil {
			return err
		}
		if err := createCredentialsTable(ctx, tx); err != nil {
			return err
		}
		var exists bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT password FROM `+CredentialsTable+` WHERE role = $1`, role).Scan(&cred.password)
		stored := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		switch {
		case stored && exists:
			return nil
		case exists:
			return fmt.Errorf("role %s: %w: give this deployment a role prefix of its own (APP_DB_ROLE_PREFIX)", role, ErrRoleTaken)
		case !stored:
			if cred.password, err = newPassword(); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+CredentialsTable+` (role, password) VALUES ($1, $2)`, role, cred.password); err != nil {
				return err
			}
		}
		// A role dropped since (a cluster restored without its roles) is
		// created again with its kept password.
		_, err = tx.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD %s`,
			pgx.Identifier{role}.Sanitize(), quoteLiteral(cred.password)))
		return err
	})
	return cred, err
}

func createCredentialsTable(ctx context.Context, tx pgx.Tx) error {
	for _, q := range []string{
		`CREATE SCHEMA IF NOT EXISTS ` + CredentialsSchema,
		`REVOKE ALL ON SCHEMA ` + CredentialsSchema + ` FROM PUBLIC`,
		`CREATE TABLE IF NOT EXISTS ` + CredentialsTable + ` (
			role       name PRIMARY KEY,
			password   text NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now())`,
		`REVOKE ALL ON ` + CredentialsTable + ` FROM PUBLIC`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", CredentialsTable, err)
		}
	}
	return nil
}

func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// handOver gives role every object in schema that from owns. Only that
// schema's objects move: from may be a role another database still uses.
func handOver(ctx context.Context, conn *pgx.Conn, schema, from, to string) error {
	rows, err := conn.Query(ctx, `
		SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
		                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END || ' ' || c.oid::regclass::text
		FROM pg_class c
		WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
		  AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
		  -- a sequence of a serial or identity column follows its table
		  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
		           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
		UNION ALL
		SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END || ' ' || p.oid::regprocedure::text
		FROM pg_proc p
		WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
		  AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = $2)
		UNION ALL
		SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END || ' ' || t.oid::regtype::text
		FROM pg_type t
		WHERE t.typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
		  AND t.typowner = (SELECT oid FROM pg_roles WHERE rolname = $2) AND t.typtype IN ('d', 'e', 'r', 'm')`,
		schema, from)
	if err != nil {
		return err
	}
	objects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, o := range objects {
		if _, err := conn.Exec(ctx, `ALTER `+o+` OWNER TO `+pgx.Identifier{to}.Sanitize()); err != nil {
			return fmt.Errorf("ALTER %s: %w", o, err)
		}
	}
	return nil
}
