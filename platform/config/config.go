// Package config reads the configuration from environment variables (SPEC
// §7). It is the only package that reads the environment. Config holds the
// settings of the process, which every process needs whatever modules it
// runs; a module declares and validates its own settings, read through a
// Reader only in a process that runs it (modkit.Definition.Settings), so a
// process is never given, nor refused for lacking, another module's secret.
// Load applies defaults, then validates everything at once, so a bad
// deployment fails at start-up with every problem listed rather than at the
// first request.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/platform/pgxdb"
)

// Config is the validated configuration of one process: the settings every
// process reads, whatever modules it runs.
type Config struct {
	HTTPAddr string // APP_HTTP_ADDR, default ":8080"
	// InternalAddr is APP_INTERNAL_ADDR: when set, a second listener there
	// serves everything, /internal included, and APP_HTTP_ADDR answers 404
	// for /internal/...; default: /internal is served on APP_HTTP_ADDR.
	InternalAddr string
	DatabaseURL  string            // DATABASE_URL; empty = embedded development Postgres
	ModuleDBURLs map[string]string // <MODULE>_DATABASE_URL, by module name
	// DBMaxConns is APP_DB_MAX_CONNS: the Postgres connections this process
	// may hold, split across its modules' pools and their outbox relays'
	// connections; default 24.
	DBMaxConns int
	// DBRolePrefix is APP_DB_ROLE_PREFIX: module roles are named
	// <prefix><module>; default (empty) shop_<database name>_.
	DBRolePrefix string
	Modules      []string            // APP_MODULES resolved: the modules run in this process
	Bus          string              // APP_BUS: "gochannel" or "amqp"
	AMQPURL      string              // AMQP_URL
	Remotes      map[string][]string // APP_REMOTE_<MODULE>: base URLs, by module name
	JWTSecret    string              // APP_JWT_SECRET: keys service tokens; dev: generated and kept under DataDir
	Env          string              // APP_ENV: "dev" or "prod"
	// DeadLetterRetention is APP_DEAD_LETTER_RETENTION: how long a dead
	// letter is kept before the relay deletes it; default 720h (30 days).
	DeadLetterRetention time.Duration
	DataDir             string        // APP_DATA_DIR, default ".data": dev Postgres and secrets
	LogLevel            string        // APP_LOG_LEVEL: debug, info, warn, error; default info
	LogFormat           string        // APP_LOG_FORMAT: json or console; default console in dev, json in prod
	ShutdownGrace       time.Duration // APP_SHUTDOWN_TIMEOUT: drain time on SIGTERM, default 10s
	// The rate limits are identity's and ordering's policies, but every
	// process reads them: each serves the web UI's backend (internal/bff),
	// whose login, registration and checkout apply them too.
	LoginRate      int            // APP_RATE_LIMIT_LOGIN: logins per minute per client address, default 10
	RegisterRate   int            // APP_RATE_LIMIT_REGISTER: registrations per minute per client address, default 20
	OrderRate      int            // APP_RATE_LIMIT_ORDERS: orders placed per minute per customer, default 60
	TrustedProxies []netip.Prefix // APP_TRUSTED_PROXIES: proxies (CIDRs or addresses) whose X-Forwarded-For is believed; default none
	RedisURL       string         // APP_REDIS_URL: when set, rate limits are counted there, across instances; default: in each process's memory
	RedisTimeout   time.Duration  // APP_REDIS_TIMEOUT: a rate-limit call to Redis that takes longer counts in memory instead; default 100ms
	DebugAddr      string         // APP_DEBUG_ADDR: when set, serves Go's pprof profiles there (loopback only in prod)
	TracingOff     bool           // OTEL_SDK_DISABLED=true: no spans (the SDK reads the other OTEL_* variables itself)
	TraceExport    bool           // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set: export over OTLP/HTTP
}

// DefaultDBMaxConns is APP_DB_MAX_CONNS's default: two processes of the
// monolith stay well under Postgres' default max_connections of 100.
const DefaultDBMaxConns = 24

// Dev reports whether this is a development process.
func (c Config) Dev() bool { return c.Env == "dev" }

// Local reports whether module runs in this process.
func (c Config) Local(module string) bool { return slices.Contains(c.Modules, module) }

// DatabaseURLFor returns the bootstrap database URL of module: its own
// <MODULE>_DATABASE_URL when set, else DATABASE_URL (which may be empty).
func (c Config) DatabaseURLFor(module string) string {
	if u := c.ModuleDBURLs[module]; u != "" {
		return u
	}
	return c.DatabaseURL
}

// Load reads the configuration through getenv (os.Getenv in production, a map
// in tests). known lists every module of the system, in start-up order;
// linked, when given (even empty), the modules this binary contains (an
// extracted binary has one, a pure gateway none): APP_MODULES=all then means
// all of those but the ones with an APP_REMOTE_<MODULE>, and naming another
// module is an error.
func Load(getenv func(string) string, known []string, linked ...string) (Config, error) {
	r := NewReader(getenv)
	c := Read(r, known, linked...)
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Read is Load through r, which keeps the problems found, so that the
// caller can go on reading the settings of the modules the process runs
// and report every problem at once (r.Err).
func Read(r *Reader, known []string, linked ...string) Config {
	if linked == nil {
		linked = known
	}
	c := Config{
		HTTPAddr:            r.String("APP_HTTP_ADDR", ":8080"),
		InternalAddr:        r.String("APP_INTERNAL_ADDR", ""),
		DatabaseURL:         r.String("DATABASE_URL", ""),
		DBMaxConns:          r.Int("APP_DB_MAX_CONNS", DefaultDBMaxConns),
		DBRolePrefix:        r.String("APP_DB_ROLE_PREFIX", ""),
		Bus:                 r.String("APP_BUS", "gochannel"),
		AMQPURL:             r.String("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		JWTSecret:           r.Secret("APP_JWT_SECRET", 32),
		Env:                 r.Env(),
		DeadLetterRetention: r.Duration("APP_DEAD_LETTER_RETENTION", 30*24*time.Hour),
		DataDir:             r.String("APP_DATA_DIR", ".data"),
		LogLevel:            r.String("APP_LOG_LEVEL", "info"),
		ShutdownGrace:       r.Duration("APP_SHUTDOWN_TIMEOUT", 10*time.Second),
		LoginRate:           r.Int("APP_RATE_LIMIT_LOGIN", 10),
		RegisterRate:        r.Int("APP_RATE_LIMIT_REGISTER", 20),
		OrderRate:           r.Int("APP_RATE_LIMIT_ORDERS", 60),
		DebugAddr:           r.String("APP_DEBUG_ADDR", ""),
		TrustedProxies:      r.prefixes("APP_TRUSTED_PROXIES"),
		RedisURL:            r.String("APP_REDIS_URL", ""),
		RedisTimeout:        r.Duration("APP_REDIS_TIMEOUT", 100*time.Millisecond),
		ModuleDBURLs:        map[string]string{},
		Remotes:             map[string][]string{},
	}
	// As the OpenTelemetry specification reads its booleans: only "true",
	// in any case, is true; nothing fails start-up.
	c.TracingOff = strings.EqualFold(r.String("OTEL_SDK_DISABLED", ""), "true")
	c.TraceExport = r.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "") != "" || r.String("OTEL_EXPORTER_OTLP_ENDPOINT", "") != ""
	c.LogFormat = r.String("APP_LOG_FORMAT", map[bool]string{true: "console", false: "json"}[c.Env == "dev"])
	for _, m := range known {
		up := strings.ToUpper(m)
		if u := r.String(up+"_DATABASE_URL", ""); u != "" {
			c.ModuleDBURLs[m] = u
		}
		if list := r.String("APP_REMOTE_"+up, ""); list != "" {
			c.Remotes[m] = splitList(list)
		}
	}
	// With APP_MODULES=all, a linked module that has a remote runs there:
	// routing a module to its extracted binary, and back, is one variable.
	// A binary left with no module that way is a mistake (an extracted
	// binary given the monolith's environment), not a gateway.
	c.Modules = r.modules("APP_MODULES", known, linked)
	if r.String("APP_MODULES", "all") == "all" && len(linked) > 0 {
		c.Modules = slices.DeleteFunc(c.Modules, func(m string) bool { return len(c.Remotes[m]) > 0 })
		if len(c.Modules) == 0 {
			r.Invalid("every module of this binary (%s) has an APP_REMOTE_<MODULE>, so it would run none: unset the variable of the module it should run, or set APP_MODULES=none for a gateway",
				strings.Join(linked, ", "))
		}
	}
	for _, err := range c.validate(known) {
		r.add(err)
	}
	return c
}

func (c Config) validate(known []string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		add("APP_HTTP_ADDR %q: want host:port or :port", c.HTTPAddr)
	}
	if c.InternalAddr != "" {
		if _, _, err := net.SplitHostPort(c.InternalAddr); err != nil {
			add("APP_INTERNAL_ADDR %q: want host:port or :port", c.InternalAddr)
		} else if samePort(c.InternalAddr, c.HTTPAddr) {
			add("APP_INTERNAL_ADDR %q: it must be another port than APP_HTTP_ADDR %q", c.InternalAddr, c.HTTPAddr)
		}
	}
	if host, _, err := net.SplitHostPort(c.DebugAddr); c.DebugAddr != "" && err != nil {
		add("APP_DEBUG_ADDR %q: want host:port", c.DebugAddr)
	} else if c.DebugAddr != "" && c.Env == "prod" && !loopback(host) {
		// pprof has no authentication and its profiles reveal memory contents.
		add("APP_DEBUG_ADDR %q: in prod it must be a loopback address (127.0.0.1:port, [::1]:port or localhost:port)", c.DebugAddr)
	}
	switch c.Env {
	case "dev", "prod":
	default:
		add("APP_ENV %q: want dev or prod", c.Env)
	}
	switch c.Bus {
	case "gochannel", "amqp":
	default:
		add("APP_BUS %q: want gochannel or amqp", c.Bus)
	}
	if c.Bus == "amqp" {
		if u, err := url.Parse(c.AMQPURL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			add("AMQP_URL: want amqp://user:password@host:port/vhost")
		}
	}
	if c.DatabaseURL != "" {
		if _, err := pgconn.ParseConfig(c.DatabaseURL); err != nil {
			add("DATABASE_URL: not a valid Postgres URL")
		}
	}
	for _, m := range known {
		if u := c.ModuleDBURLs[m]; u != "" {
			if _, err := pgconn.ParseConfig(u); err != nil {
				add("%s_DATABASE_URL: not a valid Postgres URL", strings.ToUpper(m))
			}
		}
		for _, base := range c.Remotes[m] {
			// The error does not repeat the value: it might hold a password.
			u, err := url.Parse(base)
			switch {
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				add("APP_REMOTE_%s: %q is not an http(s) base URL", strings.ToUpper(m), redact(base))
			case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
				add("APP_REMOTE_%s: a base URL is scheme://host:port, without credentials, path, query or fragment", strings.ToUpper(m))
			case pointsHere(u, c.HTTPAddr):
				add("APP_REMOTE_%s: %s is this process's own address (APP_HTTP_ADDR)", strings.ToUpper(m), u.Host)
			case c.InternalAddr != "" && pointsHere(u, c.InternalAddr):
				add("APP_REMOTE_%s: %s is this process's own address (APP_INTERNAL_ADDR)", strings.ToUpper(m), u.Host)
			}
		}
		local, remote := c.Local(m), len(c.Remotes[m]) > 0
		switch {
		case local && remote:
			add("module %s runs here (APP_MODULES) and is also remote (APP_REMOTE_%s): choose one", m, strings.ToUpper(m))
		case !local && !remote:
			add("module %s does not run here: set APP_REMOTE_%s to where it runs", m, strings.ToUpper(m))
		}
	}
	if len(c.Modules) < len(known) && c.Bus != "amqp" {
		add("APP_BUS=%s cannot reach modules in other processes: use APP_BUS=amqp when APP_MODULES is not all", c.Bus)
	}
	if c.RedisURL != "" {
		// The error does not repeat the value: it might hold a password.
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("APP_REDIS_URL: want redis://[:password@]host:port[/db] or rediss://")
		}
	}
	if c.RedisTimeout <= 0 {
		add("APP_REDIS_TIMEOUT must be positive")
	}
	if need := pgxdb.MinBudget(len(c.Modules)); c.DBMaxConns < need {
		add("APP_DB_MAX_CONNS %d: the %d module(s) of this process need at least %d connections (a pool of %d and the outbox relay's connection each, and one to bootstrap)",
			c.DBMaxConns, len(c.Modules), need, pgxdb.MinPoolConns)
	}
	if c.DBRolePrefix != "" && !pgxdb.ValidRolePrefix(c.DBRolePrefix) {
		add("APP_DB_ROLE_PREFIX %q: want lower-case letters, digits and underscores, a letter first, at most %d characters", c.DBRolePrefix, pgxdb.MaxRolePrefix)
	}
	if c.DeadLetterRetention < time.Hour {
		// Shorter would delete dead letters before anyone could look.
		add("APP_DEAD_LETTER_RETENTION %s: want at least 1h", c.DeadLetterRetention)
	}
	if c.ShutdownGrace <= 0 {
		add("APP_SHUTDOWN_TIMEOUT must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("APP_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		add("APP_LOG_FORMAT %q: want json or console", c.LogFormat)
	}
	if c.Env == "prod" {
		// Production refuses every default that is only safe on a laptop
		// (Reader.Secret refuses a missing secret).
		for _, m := range c.Modules {
			if c.DatabaseURLFor(m) == "" {
				add("APP_ENV=prod: set DATABASE_URL or %s_DATABASE_URL (the embedded development Postgres is for dev only)", strings.ToUpper(m))
			}
		}
		if c.Bus == "amqp" && strings.Contains(c.AMQPURL, "guest:guest@") {
			add("APP_ENV=prod: AMQP_URL uses RabbitMQ's default guest account")
		}
	}
	return errs
}

// redact hides what could be a password in a URL that did not parse.
func redact(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return "…" + s[i:]
	}
	return s
}

// pointsHere reports whether u is obviously this process's own address
// (a loopback or unspecified host on the port it listens on).
func pointsHere(u *url.URL, httpAddr string) bool {
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return false
	}
	uport := u.Port()
	if uport == "" {
		uport = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	local := host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified()))
	return local && uport == port
}

// samePort reports whether two listen addresses would take the same port.
func samePort(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb && pa != "0"
}

// Reader reads settings from the environment, for Read and for the own
// settings of each module (modkit.Definition.Settings). A value is trimmed
// of spaces, and an empty one means the default. Reader keeps every problem,
// a value that does not parse or a rule broken (Invalid), so that a start
// lists them all at once (Err); a method with a bad value returns its
// default. Messages name the variable and never repeat a secret.
type Reader struct {
	getenv  func(string) string
	errs    []error
	secrets []string // the names read by Secret, each once, in the order read
}

// NewReader returns a Reader of getenv (os.Getenv, or a map in tests).
func NewReader(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// Err returns every problem found so far, one per line, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n%w", errors.Join(r.errs...))
}

// Invalid records a problem: a rule that the values read break.
func (r *Reader) Invalid(format string, a ...any) { r.add(fmt.Errorf(format, a...)) }

// add records err once: two modules that read the same variable (say,
// APP_PAYMENT_TIMEOUT) in one process report its problem once.
func (r *Reader) add(err error) {
	if !slices.ContainsFunc(r.errs, func(e error) bool { return e.Error() == err.Error() }) {
		r.errs = append(r.errs, err)
	}
}

// Env is APP_ENV, "dev" by default (Read checks its value).
func (r *Reader) Env() string { return r.String("APP_ENV", "dev") }

// Prod reports whether APP_ENV is prod, where defaults only safe on a
// laptop are refused.
func (r *Reader) Prod() bool { return r.Env() == "prod" }

// String reads a variable.
func (r *Reader) String(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// Secret reads a secret, which has no default: in prod it must be set, at
// least prodMin bytes long (0: the caller checks it, with its own message).
// Outside prod it may be empty (a development process generates its own and
// keeps it under APP_DATA_DIR). Reading a secret declares it (Secrets).
func (r *Reader) Secret(name string, prodMin int) string {
	if !slices.Contains(r.secrets, name) {
		r.secrets = append(r.secrets, name)
	}
	v := r.String(name, "")
	if r.Prod() && len(v) < prodMin {
		r.Invalid("APP_ENV=prod: %s must be set, at least %d bytes", name, prodMin)
	}
	return v
}

// Secrets returns the names read by Secret so far, in the order first
// read: after the process settings and the settings of the modules a process
// runs, exactly the secrets that process needs, so a deployment gives it
// those and no other (internal/deploy/deploytest checks the manifests).
func (r *Reader) Secrets() []string { return slices.Clone(r.secrets) }

// Duration reads a Go duration such as 5s or 250ms.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.Invalid("%s %q: want a duration such as 5s or 250ms", name, v)
		return def
	}
	return d
}

// Int reads a whole number of at least 1.
func (r *Reader) Int(name string, def int) int {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.Invalid("%s %q: want a whole number of at least 1", name, v)
		return def
	}
	return n
}

// Bool reads true or false (or 1, 0, t, f, as strconv.ParseBool).
func (r *Reader) Bool(name string, def bool) bool {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.Invalid("%s %q: want true or false", name, v)
		return def
	}
	return b
}

// prefixes reads a comma list of CIDRs or single addresses (a /32 or /128).
// A /0 is refused: believing every peer's X-Forwarded-For lets any client
// choose its own address.
func (r *Reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range splitList(r.String(name, "")) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				r.errs = append(r.errs, fmt.Errorf("%s: %q is neither a CIDR (10.0.0.0/8) nor an address", name, s))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Bits() == 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: %q would trust every address, so any client could choose its own", name, s))
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

// modules resolves APP_MODULES: "all", "none" or a comma list of known names,
// returned in the order of known (the start-up order).
func (r *Reader) modules(name string, known, linked []string) []string {
	v := r.String(name, "all")
	switch v {
	case "all":
		return slices.Clone(linked)
	case "none":
		return []string{}
	}
	want := splitList(v)
	for _, m := range want {
		switch {
		case !slices.Contains(known, m):
			r.errs = append(r.errs, fmt.Errorf("%s: unknown module %q (known: %s, or all, none)", name, m, strings.Join(known, ", ")))
		case !slices.Contains(linked, m):
			r.errs = append(r.errs, fmt.Errorf("%s: module %q is not in this binary (it has: %s)", name, m, strings.Join(linked, ", ")))
		}
	}
	var out []string
	for _, m := range linked {
		if slices.Contains(want, m) {
			out = append(out, m)
		}
	}
	return out
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// loopback reports whether host (an address's host part) names this machine
// only: a loopback IP or "localhost". An empty host means every interface.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
