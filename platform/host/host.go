package host

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/health"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/ratelimit"
	"github.com/modmono/shop/platform/rpc"
	"github.com/modmono/shop/platform/telemetry"
)

// Platform provides the shared runtime for cfg. topology lists every durable
// event consumer of the system (see bus.Config.Topology).
func Platform(cfg config.Config, log *zap.Logger, topology []bus.Subscription) fx.Option {
	return fx.Options(
		fx.Supply(cfg, log, topology),
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.ZapLogger{Logger: log.Named("fx")}
			l.UseLogLevel(zapcore.DebugLevel)
			// fx's errors carry the whole dependency graph; the process
			// reports the failure itself in one line (internal/process), so
			// the graph is for whoever turns debug logs on.
			l.UseErrorLevel(zapcore.DebugLevel)
			return l
		}),
		fx.Provide(
			telemetry.Provide(telemetry.Config{
				Disabled: cfg.TracingOff, Export: cfg.TraceExport, ServiceName: telemetry.ServiceName(cfg.Modules),
			}),
			func(t *telemetry.Telemetry) *telemetry.Recorder { return t.Recorder }, // recent traces, for the console
			newRegistry,
			func() *health.Registry { return &health.Registry{} },
			newTransport,
			newBus,
			newDatabases,
			newHTTP,
			newRateLimiter,
			newVerifier,
			auth.NewGuard,
			newServiceTokens,
			func(cfg config.Config, t *auth.ServiceTokens, reg prometheus.Registerer, log *zap.Logger) (*rpc.Remotes, error) {
				return rpc.NewRemotes(cfg, t, reg, rpc.Options{}, log)
			},
		),
		// Tracing first: it is installed before anything else starts and
		// shut down (flushed) after everything else has stopped.
		fx.Invoke(func(*telemetry.Telemetry) {}),
		fx.Invoke(rpc.Lifecycle),
	)
}

// newServiceTokens signs this process's calls to other processes and checks
// theirs, with a key derived from APP_JWT_SECRET, which every process of a
// deployment shares. In development a secret is generated once and kept
// under the data directory so it survives restarts.
func newServiceTokens(cfg config.Config, log *zap.Logger) (*auth.ServiceTokens, error) {
	service := "gateway"
	if len(cfg.Modules) > 0 {
		service = strings.Join(cfg.Modules, "+")
	}
	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		path := filepath.Join(cfg.DataDir, "jwt-secret")
		var err error
		if secret, err = devFile(path, "development JWT secret", newDevSecret, func(b []byte) bool { return len(b) >= auth.MinSecretLen }); err != nil {
			return nil, err
		}
		msg := "using the development JWT secret; set APP_JWT_SECRET to share one between processes"
		level := zap.InfoLevel
		if len(cfg.Remotes) > 0 {
			// Processes with different secrets answer each other's calls with 401.
			msg, level = "using the development JWT secret while calling modules in other processes: they must all use the same one; set APP_JWT_SECRET", zap.WarnLevel
		}
		log.Log(level, msg, zap.String("file", path))
	}
	if len(secret) < auth.MinSecretLen {
		return nil, fmt.Errorf("APP_JWT_SECRET must be at least %d bytes", auth.MinSecretLen)
	}
	return auth.NewServiceTokens(secret, service), nil
}

// newVerifier verifies user tokens with the keys of the module that signs
// them: its signer where it runs in this process, the key set it publishes
// where it is remote. A process with neither (a test of another module)
// accepts no user token.
func newVerifier(in struct {
	fx.In
	Keys auth.KeySource `optional:"true"`
}) *auth.Verifier {
	if in.Keys == nil {
		return auth.NewVerifier(auth.NoKeys{})
	}
	return auth.NewVerifier(in.Keys)
}

// TokenTTL is the lifetime of an access token.
const TokenTTL = time.Hour

// SigningKeys returns the Ed25519 keys that sign user tokens, from pem
// (identity's APP_JWT_PRIVATE_KEY: the first signs, the others are still published);
// in development, without it, a key generated once and kept under the data
// directory. Only the module that signs user tokens calls it, so no other
// process holds a key or needs the variable.
func SigningKeys(pem string, cfg config.Config, log *zap.Logger) ([]ed25519.PrivateKey, error) {
	if pem != "" {
		keys, err := auth.ParsePrivateKeys(pem)
		if err != nil {
			return nil, fmt.Errorf("APP_JWT_PRIVATE_KEY: %w", err)
		}
		return keys, nil
	}
	if !cfg.Dev() {
		return nil, errors.New("APP_ENV=prod: APP_JWT_PRIVATE_KEY must be set on the process running identity (an Ed25519 key in PEM: openssl genpkey -algorithm ed25519)")
	}
	path := filepath.Join(cfg.DataDir, "jwt-ed25519.pem")
	text, err := devFile(path, "development signing key", func() ([]byte, error) {
		k, err := auth.GenerateKeyPEM()
		return []byte(k), err
	}, func(b []byte) bool { _, err := auth.ParsePrivateKeys(string(b)); return err == nil })
	if err != nil {
		return nil, err
	}
	log.Info("signing user tokens with the development key; set APP_JWT_PRIVATE_KEY in production", zap.String("file", path))
	return auth.ParsePrivateKeys(string(text))
}

// devFile reads the development secret in path when valid, else creates
// it (0600) with generate.
func devFile(path, what string, generate func() ([]byte, error), valid func([]byte) bool) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && valid(b) {
		return b, nil
	}
	b, err := generate()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

func newDevSecret() ([]byte, error) {
	buf := make([]byte, 48)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	return []byte(base64.RawURLEncoding.EncodeToString(buf)), nil
}

// Registry is the process's Prometheus registry.
type Registry struct {
	*prometheus.Registry
}

func newRegistry() (*Registry, prometheus.Registerer) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector()) // go_build_info: the module's version and checksum
	return &Registry{reg}, reg
}

// newTransport connects the bus's transport. It is a value of its own so
// that a test can decorate it (fx.Decorate), as the fault-injection suite
// does with bustest; production code never does.
func newTransport(cfg config.Config, log *zap.Logger, hr *health.Registry) (bus.Transport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := bus.NewTransport(ctx, cfg.Bus, cfg.AMQPURL, bus.WatermillLogger(log))
	if err != nil {
		return nil, err
	}
	// The name says which transport (a guide checks for bus:amqp). A broker
	// outage degrades but does not unready: the outbox holds the events.
	hr.Add(health.Check{Name: "bus:" + cfg.Bus, Run: tr.Ping, Degrades: true})
	return tr, nil
}

func newBus(cfg config.Config, tr bus.Transport, log *zap.Logger, reg prometheus.Registerer, topology []bus.Subscription) *bus.Bus {
	return bus.New(bus.Config{Topology: topology, DeadLetterRetention: cfg.DeadLetterRetention}, tr, log, reg)
}

type databasesIn struct {
	fx.In
	Config   config.Config
	Log      *zap.Logger
	Bus      *bus.Bus
	Health   *health.Registry
	Registry prometheus.Registerer
	Weights  DatabaseWeights `optional:"true"` // the process supplies them from the modules' definitions
}

func newDatabases(in databasesIn) (*Databases, error) {
	d, err := NewDatabases(in.Config, in.Log, in.Weights)
	if err != nil {
		return nil, err
	}
	d.bus, d.health, d.stats = in.Bus, in.Health, pgxdb.NewPoolCollector()
	in.Registry.MustRegister(d.stats, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "db_connections_budget",
		Help: "The Postgres connections this process may hold (APP_DB_MAX_CONNS): its modules' pools (db_pool_connections{state=\"max\"}), one outbox relay connection per module and one to bootstrap.",
	}, func() float64 { return float64(in.Config.DBMaxConns) }))
	return d, nil
}

// A Worker is a background loop of a module (a saga runner, say). Workers
// start after the bus and stop before it, while the databases are open. A
// module gives its workers with host.Work.
type Worker func(ctx context.Context)

// Work provides the worker that the constructor f returns, with f's
// dependencies, to the process (value group "host.workers").
func Work(f any) fx.Option {
	return fx.Provide(fx.Annotate(f, fx.ResultTags(`group:"host.workers"`)))
}

// Consume provides the event consumers that the constructor f returns
// ([]bus.Consumer, and an error) to the bus (value group "bus.consumers").
func Consume(f any) fx.Option {
	return fx.Provide(fx.Annotate(f, fx.ResultTags(`group:"bus.consumers,flatten"`)))
}

// running is what Run starts and stops: fx gathers the value groups from
// every module, whatever the order of their options.
type running struct {
	fx.In
	Lifecycle fx.Lifecycle
	Bus       *bus.Bus
	Databases *Databases
	Consumers []bus.Consumer `group:"bus.consumers"`
	Workers   []Worker       `group:"host.workers"`
}

// Run subscribes every module's consumers, starts the bus, then the
// workers; at stop it stops the workers, drains the bus and closes the
// databases, in that order. Its hooks must run after the modules' own start
// hooks (the admin is seeded before the bus runs) and before Serve's.
func Run(r running) error {
	if err := r.Bus.Subscribe(r.Consumers...); err != nil {
		return err
	}
	b, dbs := r.Bus, r.Databases
	var stop context.CancelFunc
	var workers sync.WaitGroup
	r.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := b.Start(ctx); err != nil {
				return err
			}
			var wctx context.Context
			wctx, stop = context.WithCancel(context.Background())
			for _, run := range r.Workers {
				workers.Go(func() { run(wctx) })
			}
			return nil
		},
		OnStop: func(ctx context.Context) error {
			stop()
			done := make(chan struct{})
			go func() { workers.Wait(); close(done) }()
			var late error
			select {
			case <-done:
			case <-ctx.Done():
				// Stop the rest anyway, so a development Postgres is not left running.
				late = fmt.Errorf("workers did not stop: %w", ctx.Err())
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
			}
			return errors.Join(late, b.Stop(ctx), dbs.Close(ctx))
		},
	})
	return nil
}

// HTTP holds the root router, the /api/v1 router modules mount their public
// routes on, and the /internal router where they serve their API to other
// processes (service callers only).
type HTTP struct {
	Root     chi.Router
	API      chi.Router
	Internal chi.Router

	stopping     chan struct{}
	stoppingOnce sync.Once
}

// Stopping is closed when the server begins its graceful shutdown: a
// response that streams until the client leaves (server-sent events) ends
// then, or the shutdown would wait for it.
func (h *HTTP) Stopping() <-chan struct{} { return h.stopping }

func newHTTP(cfg config.Config, log *zap.Logger, reg *Registry, hr *health.Registry, verifier *auth.Verifier, guard *auth.Guard, st *auth.ServiceTokens) *HTTP {
	root := httpx.NewRouter(httpx.Options{Logger: log.Named("http"), Registerer: reg, Untraced: untraced})
	root.Use(clientAddress(st, cfg.TrustedProxies))
	root.Method(http.MethodGet, "/health/live", health.Live())
	root.Method(http.MethodGet, "/health/ready", health.Handler(hr, health.HandlerOptions{Verbose: cfg.Dev()}))
	root.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	// The keys of user tokens: identity's own where it runs, else the set
	// this process fetched from it (the same answer, cached).
	root.Method(http.MethodGet, auth.JWKSPath, auth.JWKSHandler(verifier.Keys()))
	api := chi.NewRouter()
	api.Use(guard.Authenticate)
	root.Mount("/api/v1", api)
	internal := chi.NewRouter()
	internal.Use(st.RequireService)
	root.Mount(rpc.PathPrefix, internal)
	return &HTTP{Root: root, API: api, Internal: internal, stopping: make(chan struct{})}
}

// untraced are the requests that get no span: the web UI's pages and files,
// the problem pages, and the admin views' reads. The console reads those
// views every few seconds, and its own requests would push the traces it is
// there to show out of the recorder.
func untraced(r *http.Request) bool {
	p := r.URL.Path
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch {
	case strings.HasPrefix(p, "/api/v1/admin/"), strings.HasPrefix(p, rpc.PathPrefix+"/admin/"):
		return true
	case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/bff/"), strings.HasPrefix(p, rpc.PathPrefix+"/"):
		return false
	}
	return true
}

// ServeAPI serves module's API I to modules in other processes, at
// /internal/<module>/<Method> (platform/rpc). Each module's fx wiring gives it.
func ServeAPI[I any](module string) fx.Option {
	return fx.Invoke(func(h *HTTP, api I, log *zap.Logger) {
		rpc.Mount(h.Internal, module, api, log.Named(module))
	})
}

// clientAddress sets r.RemoteAddr to the client's address, so rate limits
// by client address (and the logs) see the real client: from
// X-Forwarded-For when a request comes through this deployment's gateway
// (it carries a valid forwarding token: the last entry is the one the
// gateway added, earlier ones came from the client), else when it comes
// from a trusted proxy (APP_TRUSTED_PROXIES, httpx.TrustProxies).
func clientAddress(st *auth.ServiceTokens, trusted []netip.Prefix) func(http.Handler) http.Handler {
	fromProxies := httpx.TrustProxies(trusted)
	return func(next http.Handler) http.Handler {
		viaProxies := fromProxies(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fwd := r.Header.Values("X-Forwarded-For"); len(fwd) > 0 && r.Header.Get(auth.ServiceHeader) != "" {
				if _, err := st.VerifyForwarded(r.Header.Get(auth.ServiceHeader)); err == nil {
					list := strings.Split(fwd[len(fwd)-1], ",")
					if ip := net.ParseIP(strings.TrimSpace(list[len(list)-1])); ip != nil {
						r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
					}
					next.ServeHTTP(w, r)
					return
				}
			}
			viaProxies.ServeHTTP(w, r)
		})
	}
}

// RedisKeyPrefix starts the keys of the rate limits in APP_REDIS_URL.
// Deployments sharing one Redis keep apart by its database number (/N).
const RedisKeyPrefix = "shop:"

// newRateLimiter counts the process's rate limits in APP_REDIS_URL when
// set, shared by every instance, else in this process's memory.
func newRateLimiter(lc fx.Lifecycle, cfg config.Config, reg prometheus.Registerer, log *zap.Logger) (*ratelimit.Limiter, error) {
	opts := ratelimit.Options{Timeout: cfg.RedisTimeout, Registerer: reg, Logger: log.Named("ratelimit")}
	if cfg.RedisURL == "" {
		return ratelimit.New(nil, opts)
	}
	client, err := ratelimit.Dial(cfg.RedisURL, cfg.RedisTimeout)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(client.Close))
	log.Info("rate limits are counted in Redis, across instances", zap.String("redis", client.Options().Addr))
	return ratelimit.New(ratelimit.NewRedis(client, RedisKeyPrefix), opts)
}

// Serve starts the HTTP server once everything else has started and shuts
// it down gracefully first. Give it as the last fx option. With
// APP_INTERNAL_ADDR a second server there serves everything, /internal
// included, and the public one (APP_HTTP_ADDR) answers 404 for /internal:
// a deployment exposes the public port and keeps the other inside. Without
// it, /internal is served on APP_HTTP_ADDR (SPEC §7: APP_REMOTE_<MODULE> is
// a module's base URL), in development only to peers on this machine. Both
// listeners are drained at stop.
func Serve(lc fx.Lifecycle, cfg config.Config, h *HTTP, log *zap.Logger) {
	type listener struct {
		name, addr string
		srv        *http.Server
	}
	public := http.Handler(h.Root)
	switch {
	case cfg.InternalAddr != "":
		public = withoutInternal(h.Root)
	case cfg.Dev():
		public = loopbackInternal(h.Root)
	}
	servers := []listener{{"HTTP", cfg.HTTPAddr, httpx.Server(cfg.HTTPAddr, public)}}
	if cfg.InternalAddr != "" {
		servers = append(servers, listener{"internal HTTP", cfg.InternalAddr, httpx.Server(cfg.InternalAddr, h.Root)})
	}
	for _, l := range servers {
		l.srv.RegisterOnShutdown(func() { h.stoppingOnce.Do(func() { close(h.stopping) }) })
	}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			lns := make([]net.Listener, 0, len(servers))
			for _, l := range servers {
				ln, err := net.Listen("tcp", l.addr)
				if err != nil {
					for _, open := range lns {
						_ = open.Close()
					}
					return fmt.Errorf("listen on %s: %w", l.addr, err)
				}
				lns = append(lns, ln)
			}
			for i, l := range servers {
				log.Info("serving "+l.name, zap.String("addr", lns[i].Addr().String()))
				go func() {
					if err := l.srv.Serve(lns[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
						log.Error(l.name+" server stopped", zap.Error(err))
					}
				}()
			}
			return nil
		},
		OnStop: func(ctx context.Context) error {
			log.Info("shutting down: draining HTTP requests")
			errs := make([]error, len(servers))
			var wg sync.WaitGroup
			for i, l := range servers {
				wg.Go(func() { errs[i] = l.srv.Shutdown(ctx) })
			}
			wg.Wait()
			return errors.Join(errs...)
		},
	})
	if cfg.DebugAddr != "" {
		serveDebug(lc, cfg.DebugAddr, log)
	}
}

// withoutInternal answers 404 for /internal and below, as if there were
// no such route, and passes every other request to next.
func withoutInternal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if p == rpc.PathPrefix || strings.HasPrefix(p, rpc.PathPrefix+"/") {
			httpx.WriteError(w, r, nil, httpx.ErrNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackInternal serves /internal only to a peer on this machine and
// answers 404 to any other, as withoutInternal does: a development process
// without an internal listener talks to the other processes of its
// topology over loopback, and its public port exposes nothing more.
func loopbackInternal(next http.Handler) http.Handler {
	hidden := withoutInternal(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && peer.Addr().Unmap().IsLoopback() {
			next.ServeHTTP(w, r)
			return
		}
		hidden.ServeHTTP(w, r)
	})
}

// serveDebug serves Go's pprof profiles on their own listener, never on the
// public one.
func serveDebug(lc fx.Lifecycle, addr string, log *zap.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("APP_DEBUG_ADDR: %w", err)
			}
			log.Warn("serving pprof profiles", zap.String("addr", ln.Addr().String()))
			go func() { _ = srv.Serve(ln) }()
			return nil
		},
		OnStop: srv.Shutdown,
	})
}
