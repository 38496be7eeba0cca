package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/devpg"
	"github.com/modmono/shop/platform/health"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
)

// Databases opens the databases of the modules of this process, starting the
// development Postgres the first time a module has no database URL. It
// sizes each module's pool from the process's connection budget
// (APP_DB_MAX_CONNS, see pgxdb.SplitBudget) and names its role with
// APP_DB_ROLE_PREFIX.
type Databases struct {
	cfg    config.Config
	log    *zap.Logger
	pools  map[string]int32     // pool size by module, the budget split across cfg.Modules
	bus    *bus.Bus             // when set, each opened database's outbox is relayed
	health *health.Registry     // when set, each opened database is a readiness check
	stats  *pgxdb.PoolCollector // when set, each opened database's pool is reported

	mu     sync.Mutex
	opened []*pgxdb.DB
	dev    *devpg.Server
}

// DatabaseWeights weigh the local modules' shares of the connection budget
// (modkit.Definition.DatabaseWeight), by module name; a module not in it
// weighs 1.
type DatabaseWeights map[string]int

// NewDatabases returns an opener for cfg. It fails when cfg.DBMaxConns
// cannot hold cfg's modules (config.Load refuses that already).
func NewDatabases(cfg config.Config, log *zap.Logger, weights DatabaseWeights) (*Databases, error) {
	ws := make([]int, len(cfg.Modules))
	for i, m := range cfg.Modules {
		ws[i] = weights[m]
	}
	sizes, err := pgxdb.SplitBudget(cfg.DBMaxConns, ws)
	if err != nil {
		return nil, fmt.Errorf("APP_DB_MAX_CONNS: %w", err)
	}
	d := &Databases{cfg: cfg, log: log, pools: map[string]int32{}}
	for i, m := range cfg.Modules {
		d.pools[m] = sizes[i]
	}
	return d, nil
}

// Open bootstraps module's schema and role and migrates it.
func (d *Databases) Open(ctx context.Context, module string, migrations fs.FS) (*pgxdb.DB, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dsn := d.cfg.DatabaseURLFor(module)
	if dsn == "" {
		var err error
		if dsn, err = d.devDSN(ctx); err != nil {
			return nil, err
		}
	}
	size, ok := d.pools[module]
	if !ok {
		size = pgxdb.MinPoolConns // not one of the process's modules: outside the budget, keep it small
	}
	db, err := pgxdb.Open(ctx, dsn, module, modkit.MigrationSets(migrations), d.log,
		pgxdb.WithMaxConns(size), pgxdb.WithRolePrefix(d.cfg.DBRolePrefix))
	if err != nil {
		return nil, err
	}
	d.opened = append(d.opened, db)
	if d.bus != nil {
		d.bus.Relay(db)
	}
	if d.health != nil {
		d.health.Add(health.Check{Name: "postgres:" + module, Run: db.Ping})
	}
	if d.stats != nil {
		d.stats.Add(db)
	}
	return db, nil
}

// Opened returns the databases opened so far: the local modules'.
func (d *Databases) Opened() []*pgxdb.DB {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pgxdb.DB(nil), d.opened...)
}

// Close closes every opened database, then stops the development Postgres
// if this process started it.
func (d *Databases) Close(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, db := range d.opened {
		db.Close()
	}
	d.opened = nil
	if d.dev != nil {
		return d.dev.Stop(ctx)
	}
	return nil
}

func (d *Databases) devDSN(ctx context.Context) (string, error) {
	if d.dev != nil {
		return d.dev.DSN(), nil
	}
	if !d.cfg.Dev() {
		return "", errors.New("DATABASE_URL is required outside development")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := devpg.Start(ctx, devpg.Options{Dir: filepath.Join(d.cfg.DataDir, "postgres"), Logger: d.log.Named("devpg")})
	if err != nil {
		return "", err
	}
	d.dev = srv
	d.log.Info("using the development Postgres; set DATABASE_URL to use your own", zap.String("dsn", srv.DSN()))
	return srv.DSN(), nil
}

// OpenTimeout bounds opening one module database at start-up.
const OpenTimeout = 2 * time.Minute

// OpenModule opens module's database for an fx constructor.
func (d *Databases) OpenModule(module string, migrations fs.FS) (*pgxdb.DB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), OpenTimeout)
	defer cancel()
	return d.Open(ctx, module, migrations)
}
