// Package pgxdb gives every module its own slice of Postgres: a schema it
// owns, a database role that can reach nothing else, a pgx pool that connects
// as that role with the schema as its only search path, and migrations with a
// version table inside the schema.
//
// The bootstrap credential (DATABASE_URL or <MODULE>_DATABASE_URL) must be
// allowed to create roles and schemas. It is used only here, at start-up; the
// module's queries never run with it.
package pgxdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/telemetry"
)

// MigrationSet is one ordered series of migrations with its own version table,
// so the platform's tables and the module's tables evolve independently.
type MigrationSet struct {
	VersionTable string // e.g. "schema_version"; created in the module's schema
	FS           fs.FS  // files named 001_name.sql, 002_name.sql, ...
}

// DB is a module's database handle.
type DB struct {
	Module string // the module name, e.g. "catalog"
	Schema string // the schema it owns; same as Module
	Role   string // the role its pool connects as
	Pool   *pgxpool.Pool

	mu       sync.Mutex
	onCommit []func()
}

// Tx runs fn in a transaction and, once it has committed, calls the commit
// hooks (the outbox relay's wake-up). Every write of a module goes through it.
func (db *DB) Tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, db.Pool, fn); err != nil {
		return err
	}
	db.committed()
	return nil
}

// TxBatch runs the statements queue puts in a batch as one transaction
// that costs two round trips, whatever their number: BEGIN travels with the
// statements (pgx.Batch.BeginTx), COMMIT follows. Each statement's result
// goes to the callback queued with it (QueuedQuery.Exec, Query, QueryRow),
// in order. then, when not nil, runs in the transaction after the batch,
// for work that depends on those results. If a callback, a statement or
// then fails, the transaction rolls back instead. The commit hooks run as
// after Tx.
//
// A condition that must hold (a fence, a free unique key) is checked in
// its statement's callback: refusing there rolls back what was sent after
// it too.
func (db *DB) TxBatch(ctx context.Context, queue func(*pgx.Batch) error, then func(pgx.Tx) error) (err error) {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	if err := queue(b); err != nil {
		return err
	}
	br := db.Pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer func() {
		if err != nil {
			rctx, cancel := cleanupContext(ctx)
			defer cancel()
			_ = tx.Rollback(rctx) // also returns the connection
		}
	}()
	if err = br.Close(); err != nil {
		return err
	}
	if then != nil {
		if err = then(tx); err != nil {
			return err
		}
	}
	if err = tx.Commit(ctx); err != nil {
		return err
	}
	db.committed()
	return nil
}

// TxDecide runs a transaction whose writes depend on what it reads, in two
// round trips where TxBatch with a then takes three: BEGIN travels with the
// statements read queues, whose callbacks get their results (refusing there
// rolls back); decide then looks at those results in Go and queues the
// writes, which travel with COMMIT. The writes' callbacks run only after the
// commit, so they cannot refuse it: every condition of a write must be
// decided on rows read under lock, or be a constraint the database enforces.
// The commit hooks run as after Tx.
//
// It works on a pooled connection rather than a pgx.Tx, whose Commit would
// cost a round trip of its own. A connection given back inside a
// transaction (a failed ROLLBACK) is closed by the pool, never reused. As
// with any COMMIT whose answer is lost, an error other than Postgres's own
// may hide a commit: callers' writes must be safe to try again.
func (db *DB) TxDecide(ctx context.Context, read func(*pgx.Batch) error, decide func(*pgx.Batch) error) (err error) {
	first := &pgx.Batch{}
	first.Queue("BEGIN")
	if err := read(first); err != nil {
		return err
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	defer func() {
		if err != nil {
			rctx, cancel := cleanupContext(ctx)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
	}()
	if err = conn.SendBatch(ctx, first).Close(); err != nil {
		return err
	}
	second := &pgx.Batch{}
	if err = decide(second); err != nil {
		return err
	}
	if err = refuseCallbacks("TxDecide's writes", second); err != nil {
		return err
	}
	var tag pgconn.CommandTag
	second.Queue("COMMIT").Exec(func(t pgconn.CommandTag) error {
		tag = t
		return nil
	})
	if err = conn.SendBatch(ctx, second).Close(); err != nil {
		db.mayHaveCommitted(err)
		return err
	}
	if tag.String() != "COMMIT" {
		// Postgres answers COMMIT of a failed transaction with ROLLBACK;
		// a failed statement would have stopped the batch first, so this
		// is a safety net.
		return errors.New("pgxdb: the transaction rolled back at COMMIT")
	}
	db.committed()
	return nil
}

// Batch runs the statements queue puts in a batch as one implicit
// transaction, COMMIT included, in one round trip: if one fails, none
// takes effect. Batch is for a change whose every condition is one the
// database checks (a unique key, a CHECK, a function that raises), whose
// violation is the error returned; statements take no result callbacks,
// which would run after the commit. The commit hooks run as after Tx.
func (db *DB) Batch(ctx context.Context, queue func(*pgx.Batch) error) error {
	b := &pgx.Batch{}
	if err := queue(b); err != nil {
		return err
	}
	if err := refuseCallbacks("Batch", b); err != nil {
		return err
	}
	if err := db.Pool.SendBatch(ctx, b).Close(); err != nil {
		db.mayHaveCommitted(err)
		return err
	}
	db.committed()
	return nil
}

// refuseCallbacks fails when a statement of b has a result callback: sent
// with its COMMIT, it would run too late to refuse, and its error would
// report a committed change as failed.
func refuseCallbacks(what string, b *pgx.Batch) error {
	for _, q := range b.QueuedQueries {
		if q.Fn != nil {
			return fmt.Errorf("pgxdb: %s take no result callbacks (%.40s)", what, q.SQL)
		}
	}
	return nil
}

// mayHaveCommitted runs the commit hooks when err, from a batch sent with
// its COMMIT, is not Postgres refusing it: the answer was lost and the
// change may be stored, so the relay should look.
func (db *DB) mayHaveCommitted(err error) {
	if !errors.As(err, new(*pgconn.PgError)) {
		db.committed()
	}
}

// cleanupContext is ctx for a ROLLBACK after a failure: it outlives ctx's
// cancellation, not a connection that stopped answering (locks are held).
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

func (db *DB) committed() {
	db.mu.Lock()
	hooks := db.onCommit
	db.mu.Unlock()
	for _, h := range hooks {
		h()
	}
}

// OnCommit registers f to run after every transaction Tx commits. f must not block.
func (db *DB) OnCommit(f func()) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.onCommit = append(db.onCommit, f)
}

// DefaultMaxConns is a module pool's size unless Open is given WithMaxConns
// or the database URL sets pool_max_conns. Connections open on demand; idle
// ones close after 30 min.
const DefaultMaxConns = 16

// MinPoolConns is the smallest pool a module works with: a read-model
// rebuild holds one connection for its snapshot while it writes with
// another.
const MinPoolConns = 2

// Option tunes Open.
type Option func(*options)

type options struct {
	rolePrefix string
	maxConns   int32
}

// WithRolePrefix names the module's role prefix+module. Without it (or
// with ""), the prefix is DefaultRolePrefix of the database's name.
func WithRolePrefix(prefix string) Option { return func(o *options) { o.rolePrefix = prefix } }

// WithMaxConns sizes the module's pool (its share of the process's
// connection budget). A pool_max_conns in the database URL wins over it.
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

var validModule = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// Open bootstraps module's schema, role and grants through adminDSN, runs the
// migration sets in order as the module role, and returns a pool connected as
// that role. It is idempotent and safe to run from several processes at once.
func Open(ctx context.Context, adminDSN, module string, sets []MigrationSet, log *zap.Logger, opts ...Option) (*DB, error) {
	if !validModule.MatchString(module) {
		return nil, fmt.Errorf("pgxdb: invalid module name %q", module)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.rolePrefix != "" && !ValidRolePrefix(o.rolePrefix) {
		return nil, fmt.Errorf("pgxdb: invalid role prefix %q", o.rolePrefix)
	}
	if log == nil {
		log = zap.NewNop()
	}
	// pgxpool understands pool_* parameters (pool_max_conns, ...) that a
	// plain connection would send to the server as unknown settings.
	poolCfg, err := pgxpool.ParseConfig(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("pgxdb: database URL for %s: %w", module, err)
	}
	if !strings.Contains(adminDSN, "pool_max_conns") {
		poolCfg.MaxConns = DefaultMaxConns
		if o.maxConns > 0 {
			poolCfg.MaxConns = o.maxConns
		}
	}
	adminCfg := poolCfg.ConnConfig.Copy()
	var cred credential
	err = retryConcurrent(ctx, func() (err error) {
		cred, err = bootstrap(ctx, adminCfg, module, o.rolePrefix, log)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgxdb: bootstrap %s: %w", module, err)
	}

	poolCfg.ConnConfig.User = cred.role
	poolCfg.ConnConfig.Password = cred.password
	poolCfg.ConnConfig.RuntimeParams["search_path"] = module
	poolCfg.ConnConfig.RuntimeParams["application_name"] = "shop-" + module
	// A span per statement, named by its operation (SELECT, INSERT…), and
	// one per batch, only inside a traced request or message: a statement
	// with no recording parent (the relay's polling) costs nothing.
	poolCfg.ConnConfig.Tracer = batchAsOneSpan{otelpgx.NewTracer(otelpgx.WithTracerProvider(telemetry.Provider()),
		otelpgx.WithTracerAttributes(telemetry.Module(module)), otelpgx.WithDisableConnectionDetailsInAttributes(),
		otelpgx.WithDisableAcquireTracer())} // a span per pool.acquire would double the count for little
	poolCfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// google/uuid values would otherwise go through database/sql's
		// Valuer and Scanner, as text and with a failed plan on the way:
		// measured 8x the encoding time of the binary codec.
		pgxuuid.Register(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("pgxdb: pool for %s: %w", module, err)
	}
	db := &DB{Module: module, Schema: module, Role: cred.role, Pool: pool}
	if err := db.Migrate(ctx, sets, log); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// batchAsOneSpan is otelpgx's tracer with one span per batch ("batch
// start", its size an attribute) rather than one more per statement in it:
// a batch is one round trip, and the spans of its statements cost 8 % of
// the app's CPU under the order intake.
type batchAsOneSpan struct{ *otelpgx.Tracer }

func (batchAsOneSpan) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// Migrate applies sets in order, each up to its latest version.
func (db *DB) Migrate(ctx context.Context, sets []MigrationSet, log *zap.Logger) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgxdb: migrate %s: %w", db.Module, err)
	}
	defer conn.Release()
	for _, s := range sets {
		m, err := migrate.NewMigrator(ctx, conn.Conn(), db.Schema+"."+s.VersionTable)
		if err != nil {
			return fmt.Errorf("pgxdb: migrate %s: %w", db.Module, err)
		}
		if err := m.LoadMigrations(s.FS); err != nil {
			return fmt.Errorf("pgxdb: load migrations of %s (%s): %w", db.Module, s.VersionTable, err)
		}
		m.OnStart = func(seq int32, name, _, _ string) {
			log.Info("applying migration", zap.String("module", db.Module), zap.Int32("version", seq), zap.String("name", name))
		}
		if err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("pgxdb: migrate %s (%s): %w", db.Module, s.VersionTable, err)
		}
	}
	return nil
}

// Ping checks that the module's pool can run a query.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// bootstrap creates the module's role (see roles.go) and schema and sets the
// grants: the module role owns its schema and nothing else; PUBLIC loses
// every privilege on the schema, so no other module role can even look
// inside.
func bootstrap(ctx context.Context, admin *pgx.ConnConfig, schema, prefix string, log *zap.Logger) (credential, error) {
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return credential{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var dbName, previousOwner string
	err = conn.QueryRow(ctx, `SELECT current_database(), coalesce((SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1), '')`,
		schema).Scan(&dbName, &previousOwner)
	if err != nil {
		return credential{}, err
	}
	if prefix == "" {
		prefix = DefaultRolePrefix(dbName)
	}
	cred, err := ensureRole(ctx, conn, prefix+schema)
	if err != nil {
		return credential{}, err
	}
	r, s := pgx.Identifier{cred.role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
	stmts := []string{
		// The bootstrap role must be able to act as the module role to create
		// a schema owned by it (needed when it is not a superuser).
		fmt.Sprintf(`GRANT %s TO CURRENT_USER`, r),
		fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s`, s, r),
		fmt.Sprintf(`ALTER SCHEMA %s OWNER TO %s`, s, r),
		fmt.Sprintf(`REVOKE ALL ON SCHEMA %s FROM PUBLIC`, s),
		fmt.Sprintf(`GRANT CONNECT ON DATABASE %s TO %s`, pgx.Identifier{dbName}.Sanitize(), r),
		// The pool sets search_path when it connects too; on the role it
		// also holds through a pooler that drops that startup parameter.
		fmt.Sprintf(`ALTER ROLE %s IN DATABASE %s SET search_path = %s`, r, pgx.Identifier{dbName}.Sanitize(), s),
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil && !isAlreadyMember(err) {
			return credential{}, fmt.Errorf("%s: %w", q, err)
		}
	}
	if previousOwner != "" && previousOwner != cred.role {
		// A schema made under another role name (shop_<module> before
		// per-deployment roles, or another APP_DB_ROLE_PREFIX): its
		// objects follow the schema to this deployment's role.
		if err := handOver(ctx, conn, schema, previousOwner, cred.role); err != nil {
			return credential{}, fmt.Errorf("hand schema %s over from role %s to %s: %w", schema, previousOwner, cred.role, err)
		}
		log.Info("module schema handed over to this deployment's role; the old role is left in place",
			zap.String("schema", schema), zap.String("old_role", previousOwner), zap.String("role", cred.role))
	}
	return cred, nil
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// SQLState returns the SQLSTATE of the Postgres error in err's chain, or ""
// when err is not Postgres refusing something (nil, a network failure, a
// context ending).
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func isAlreadyMember(err error) bool {
	// 0LP01 invalid_grant_operation: granting a role to itself or a superuser
	// granting membership it already implies is harmless here.
	return SQLState(err) == "0LP01"
}

// retryConcurrent retries fn when another process bootstraps the same role or
// schema at the same moment (catalog rows updated concurrently).
func retryConcurrent(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range 8 {
		if err = fn(); err == nil || !isConcurrentDDL(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 25 * time.Millisecond):
		}
	}
	return err
}

func isConcurrentDDL(err error) bool {
	switch SQLState(err) {
	case "23505", "42710", "42P06", "40001", "40P01", "XX000": // unique, duplicate object/schema, serialization, deadlock, "tuple concurrently updated"
		return true
	}
	return false
}
