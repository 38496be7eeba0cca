package datamove

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modmono/shop/platform/pgxdb"
)

// ConnectTimeout bounds connecting to a database, so an unreachable DSN is
// refused quickly instead of hanging.
const ConnectTimeout = 10 * time.Second

// sessionParams make every value render the same text on both sides, which
// the checksums rely on.
var sessionParams = map[string]string{
	"application_name":   "shop-extract",
	"TimeZone":           "UTC",
	"DateStyle":          "ISO, YMD",
	"IntervalStyle":      "postgres",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
}

// database is an admin connection to one side of a move.
type database struct {
	side    string // "source", "target" or "database", for messages
	conn    *pgx.Conn
	cfg     *pgx.ConnConfig
	id      string // system identifier/database name
	where   string // host:port/database, without credentials
	oid     uint32 // of the database
	sslmode string // the DSN's, handed on to a subscription as it was given
}

// connect opens an admin connection to dsn. It accepts the pool_* settings
// of a pgxpool URL (DATABASE_URL may carry them) and ignores them.
func connect(ctx context.Context, side, dsn string) (*database, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s DSN: %w", side, err)
	}
	cfg := pc.ConnConfig
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > ConnectTimeout {
		cfg.ConnectTimeout = ConnectTimeout
	}
	for k, v := range sessionParams {
		cfg.RuntimeParams[k] = v
	}
	cctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the %s database at %s:%d/%s: %w", side, cfg.Host, cfg.Port, cfg.Database, err)
	}
	d := &database{side: side, conn: conn, cfg: cfg, sslmode: sslmode(dsn)}
	var name string
	if err := conn.QueryRow(ctx, `SELECT oid, current_database() FROM pg_database WHERE datname = current_database()`).Scan(&d.oid, &name); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%s database: %w", side, err)
	}
	d.where = fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, name)
	// pg_control_system may be closed to a non-superuser admin: then the
	// server's address stands for the cluster.
	var sysid string
	if conn.QueryRow(ctx, `SELECT system_identifier::text FROM pg_control_system()`).Scan(&sysid) == nil {
		d.id = sysid + "/" + name
	} else {
		d.id = d.where
	}
	return d, nil
}

// sslmode returns the sslmode a DSN asks for (URL or keyword form), else
// PGSSLMODE's, else libpq's default, prefer.
func sslmode(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if m := u.Query().Get("sslmode"); m != "" {
			return m
		}
	} else if m := sslmodeKeyword.FindStringSubmatch(dsn); m != nil {
		return m[1]
	}
	if m := os.Getenv("PGSSLMODE"); m != "" {
		return m
	}
	return "prefer"
}

var sslmodeKeyword = regexp.MustCompile(`(?:^|\s)sslmode\s*=\s*'?([a-z-]+)`)

func (d *database) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.conn.Close(ctx)
}

// session is a connection of the module's role to a database.
type session struct {
	PID         int
	Application string
	Client      string
}

func (s session) String() string {
	return fmt.Sprintf("pid %d (%s from %s)", s.PID, s.Application, s.Client)
}

// sessions lists the sessions of role connected to this database. The role
// is cluster-wide: sessions in other databases of the cluster (the target
// among them) do not count.
func (d *database) sessions(ctx context.Context, role string) ([]session, error) {
	rows, err := d.conn.Query(ctx, `
		SELECT pid, coalesce(application_name, ''), coalesce(host(client_addr), 'local socket')
		FROM pg_stat_activity WHERE usename = $1 AND datname = current_database() ORDER BY pid`, role)
	if err != nil {
		return nil, fmt.Errorf("%s: list sessions of %s: %w", d.side, role, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (session, error) {
		var s session
		err := r.Scan(&s.PID, &s.Application, &s.Client)
		return s, err
	})
}

// moduleRole returns the role module runs as on d: the owner of its schema
// there ("" without one). Roles are named per deployment, so the source and
// the target of a move may have different ones.
func (d *database) moduleRole(ctx context.Context, module string) (string, error) {
	role, err := pgxdb.ModuleRole(ctx, d.conn, module)
	if err != nil {
		return "", fmt.Errorf("%s: the role of schema %s: %w", d.side, module, err)
	}
	return role, nil
}

// refuseSessions fails when the module's role has a session on d.
func (d *database) refuseSessions(ctx context.Context, module string) error {
	role, err := d.moduleRole(ctx, module)
	if err != nil || role == "" {
		return err
	}
	ss, err := d.sessions(ctx, role)
	if err != nil {
		return err
	}
	if len(ss) > 0 {
		return fmt.Errorf("module %s still runs on the %s database %s: %d session(s) of role %s connected (%s); stop it there first",
			module, d.side, d.where, len(ss), role, joinSessions(ss))
	}
	return nil
}

func joinSessions(ss []session) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}

func (d *database) schemaExists(ctx context.Context, schema string) (bool, error) {
	var ok bool
	err := d.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&ok)
	return ok, err
}

// checkVersions fails unless every version table of the module's schema on
// d holds the latest version of its migration set in this build.
func (d *database) checkVersions(ctx context.Context, module string, sets []pgxdb.MigrationSet) error {
	for _, s := range sets {
		want, err := latestVersion(s.FS)
		if err != nil {
			return fmt.Errorf("migrations %s of %s: %w", s.VersionTable, module, err)
		}
		var got int32
		var exists bool
		if err := d.conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, qualified(module, s.VersionTable)).Scan(&exists); err != nil {
			return err
		}
		if exists {
			err := d.conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+qualified(module, s.VersionTable)).Scan(&got)
			if err != nil {
				return fmt.Errorf("%s: read %s.%s: %w", d.side, module, s.VersionTable, err)
			}
		}
		if int(got) != want {
			return fmt.Errorf("the %s schema %s is at migration version %d (%s.%s) but this build of extract has version %d: run the module of this version against the %s first, or use the extract of its version",
				d.side, module, got, module, s.VersionTable, want, d.side)
		}
	}
	return nil
}

var migrationName = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// latestVersion is the version tern reaches with the migrations in fsys.
func latestVersion(fsys fs.FS) (int, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, err
	}
	latest := 0
	for _, n := range names {
		if m := migrationName.FindStringSubmatch(n); m != nil {
			v, _ := strconv.Atoi(m[1])
			latest = max(latest, v)
		}
	}
	if latest == 0 {
		return 0, errors.New("no migrations")
	}
	return latest, nil
}

// withTx runs fn in a transaction on d.
func (d *database) withTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, d.conn, fn)
}

// conninfo is d's connection as a libpq connection string, for a
// subscription.
func (d *database) conninfo() string {
	kv := []string{
		"host=" + quoteConninfo(d.cfg.Host),
		"port=" + strconv.Itoa(int(d.cfg.Port)),
		"dbname=" + quoteConninfo(d.cfg.Database),
		"user=" + quoteConninfo(d.cfg.User),
	}
	if d.cfg.Password != "" {
		kv = append(kv, "password="+quoteConninfo(d.cfg.Password))
	}
	kv = append(kv, "sslmode="+quoteConninfo(d.sslmode))
	return strings.Join(kv, " ")
}

func quoteConninfo(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func qualified(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
