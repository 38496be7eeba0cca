package devpg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modmono/shop/platform/freeport"
	"go.uber.org/zap"
)

// Options configures Start. The zero value is ready to use.
type Options struct {
	Dir    string      // data directory; default ".data/postgres"
	DBName string      // database to create if missing; default "shop"
	Logger *zap.Logger // default zap.NewNop()
	// Settings are server settings given at start, each "name=value"
	// (e.g. "max_connections=25"); ignored when a running server is reused.
	Settings []string
	// Port is the loopback port a server Start starts listens on; default a
	// free one. A test that restarts a server on the same port sets it.
	Port int
}

// Server is a development PostgreSQL server that Start started or found running.
type Server struct {
	run      runner
	dir      string // absolute data directory
	port     int
	want     int // Options.Port
	dbName   string
	settings []string
	log      *zap.Logger
	started  bool // this process started the server, so Stop stops it
}

// Start returns a running development server on o.Dir with database o.DBName.
// It initializes the data directory if it holds no cluster yet, reuses a
// server already running on it, or else starts one on a free port of
// 127.0.0.1, and then creates the database if it is missing. It never
// downloads anything: if no PostgreSQL server programs are installed, the
// error says how to install them.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		o.Dir = filepath.Join(".data", "postgres")
	}
	if o.DBName == "" {
		o.DBName = "shop"
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	// Absolute, because the programs run in another working directory.
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("devpg: %w", err)
	}
	binDir, err := findBinDir(searchDirs())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("devpg: %w", err)
	}
	r, err := newRunner(binDir, dir)
	if err != nil {
		return nil, err
	}
	out, err := r.run(ctx, 10*time.Second, "postgres", "--version")
	if err != nil {
		return nil, err
	}
	version, err := majorVersion(string(out))
	if err != nil {
		return nil, err
	}

	s := &Server{run: r, dir: dir, dbName: o.DBName, settings: o.Settings, log: o.Logger, want: o.Port}
	if err := s.initIfNeeded(ctx, version); err != nil {
		return nil, err
	}
	fields := []zap.Field{zap.String("dir", dir), zap.String("bin", binDir), zap.String("version", version)}
	if port, ok := s.runningPort(ctx); ok {
		s.port = port
		s.log.Info("reusing running development Postgres", append(fields, zap.Int("port", port))...)
	} else {
		if err := s.start(ctx); err != nil {
			return nil, err
		}
		s.log.Info("started development Postgres", append(fields, zap.Int("port", s.port))...)
	}
	if err := s.createDB(ctx); err != nil {
		// Do not leave behind a server nobody will stop; the caller's
		// context may be what failed, so stop regardless of it.
		_ = s.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// Installed reports, as an error saying how to install them, whether the
// PostgreSQL server programs are missing.
func Installed() error {
	_, err := findBinDir(searchDirs())
	return err
}

// DSN returns the URL to connect to the database as the superuser postgres,
// e.g. postgres://postgres@127.0.0.1:5433/shop?sslmode=disable.
func (s *Server) DSN() string { return dsn(s.port, s.dbName) }

// Stop stops the server if this process started it, disconnecting open
// sessions (pg_ctl stop -m fast), and waits until it is down. For a reused
// server it does nothing: that one belongs to whoever started it. Calling
// Stop again does nothing.
func (s *Server) Stop(ctx context.Context) error {
	if !s.started {
		return nil
	}
	if _, err := s.run.run(ctx, 90*time.Second, "pg_ctl", "-D", s.dir, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return err
	}
	s.started = false
	s.log.Info("stopped development Postgres", zap.String("dir", s.dir), zap.Int("port", s.port))
	return nil
}

// initIfNeeded runs initdb unless the data directory already holds a
// cluster, which must then be of the same major version as the programs:
// PostgreSQL cannot open another version's data directory.
func (s *Server) initIfNeeded(ctx context.Context, version string) error {
	b, err := os.ReadFile(filepath.Join(s.dir, "PG_VERSION"))
	if err == nil {
		if have := strings.TrimSpace(string(b)); have != version {
			return fmt.Errorf("devpg: %s holds a PostgreSQL %s cluster, but the programs in %s are PostgreSQL %s; "+
				"remove the directory to start afresh (its data is lost) or install PostgreSQL %s",
				s.dir, have, s.run.binDir, version, have)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devpg: %w", err)
	}
	s.log.Info("initializing development Postgres in " + s.dir)
	if err := s.run.makeDataDir(s.dir); err != nil {
		return err
	}
	_, err = s.run.run(ctx, 2*time.Minute, "initdb", "-D", s.dir, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C")
	return err
}

// runningPort returns the port of a server already running on the data
// directory, if there is one that answers. Its port is on line 4 of
// postmaster.pid; a stale file (server gone) is pg_ctl start's business.
func (s *Server) runningPort(ctx context.Context) (int, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn(port, "postgres"))
	if err != nil {
		return 0, false
	}
	defer conn.Close(ctx)
	// After a crash another server may have taken the port; reuse only ours.
	var dataDir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dataDir); err != nil {
		return 0, false
	}
	got, err1 := os.Stat(dataDir)
	want, err2 := os.Stat(s.dir)
	if err1 != nil || err2 != nil || !os.SameFile(got, want) {
		return 0, false
	}
	return port, true
}

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.port }

// start starts the server on the wanted or a free loopback port, TCP only.
func (s *Server) start(ctx context.Context) error {
	port := s.want
	if port == 0 {
		p, err := freeport.Reserve()
		if err != nil {
			return fmt.Errorf("devpg: %w", err)
		}
		defer p.Release() // pg_ctl -w returns once the server listens
		port = p.Number
	}
	// Next to the data directory rather than in it, so that it survives
	// removing the cluster to start afresh.
	logPath := s.dir + ".log"
	if err := s.run.makeLogFile(logPath); err != nil {
		return err
	}
	// pg_ctl passes -o to the server through the shell, so it is one
	// argument; "unix_socket_directories=" (empty) turns the socket off.
	// wal_level=logical lets `extract data --online` move a module's schema
	// to another database by logical replication while the app runs.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c wal_level=logical", port)
	for _, kv := range s.settings {
		if strings.ContainsAny(kv, " '\"\\$`;&|<>") {
			return fmt.Errorf("devpg: setting %q: no spaces or shell characters", kv)
		}
		opts += " -c " + kv
	}
	_, err := s.run.run(ctx, 90*time.Second, "pg_ctl", "-D", s.dir, "-l", logPath, "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		return fmt.Errorf("%w\nlast lines of %s:\n%s", err, logPath, logTail(logPath, 20))
	}
	s.port = port
	s.started = true
	return nil
}

// createDB creates the database unless it exists.
func (s *Server) createDB(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn(s.port, "postgres"))
	if err != nil {
		return fmt.Errorf("devpg: connect to development Postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.dbName).Scan(&exists)
	if err != nil {
		return fmt.Errorf("devpg: look up database %s: %w", s.dbName, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.dbName}.Sanitize()); err != nil {
		return fmt.Errorf("devpg: create database %s: %w", s.dbName, err)
	}
	s.log.Info("created database", zap.String("name", s.dbName))
	return nil
}

func dsn(port int, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// logTail returns the last n lines of the file at path, so the reason the
// server failed to start is in the error and not only in its log.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
