package rpc

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
)

// Remotes holds a Client per module of APP_REMOTE_*, and runs their health
// checks while the process runs.
type Remotes struct {
	clients map[string]*Client
	opts    Options
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// NewRemotes returns the clients of cfg's remote modules.
func NewRemotes(cfg config.Config, tokens *auth.ServiceTokens, reg prometheus.Registerer, opts Options, log *zap.Logger) (*Remotes, error) {
	opts.setDefaults()
	r := &Remotes{clients: map[string]*Client{}, opts: opts}
	if len(cfg.Remotes) == 0 {
		return r, nil
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(cfg.Remotes))
	for name := range cfg.Remotes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c, err := NewClient(name, cfg.Remotes[name], tokens, opts, m, log.Named("rpc"))
		if err != nil {
			return nil, err
		}
		r.clients[name] = c
	}
	return r, nil
}

// Client returns the client of module, or an error naming the variable to set.
func (r *Remotes) Client(module string) (*Client, error) {
	if c, ok := r.clients[module]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("module %s is neither in APP_MODULES nor in APP_REMOTE_*", module)
}

// Modules returns the names of the remote modules.
func (r *Remotes) Modules() []string {
	names := make([]string, 0, len(r.clients))
	for name := range r.clients {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Start begins the health checks of every remote's instances.
func (r *Remotes) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	probe := &http.Client{Transport: newTransport(), Timeout: time.Second}
	for _, c := range r.clients {
		r.done.Go(func() { c.pool.watch(ctx, r.opts.HealthInterval, probe) })
	}
}

// Stop ends the health checks.
func (r *Remotes) Stop() {
	if r.stop != nil {
		r.stop()
		r.done.Wait()
	}
}

// Lifecycle runs the health checks while the fx application runs.
func Lifecycle(lc fx.Lifecycle, r *Remotes) {
	lc.Append(fx.StartStopHook(r.Start, r.Stop))
}

// Provide gives fx the API of module as a client of its remote instances,
// built by newClient (a generated <module>api.NewClient).
func Provide[API any](module string, newClient func(*Client) API) fx.Option {
	return fx.Provide(func(r *Remotes) (API, error) {
		c, err := r.Client(module)
		if err != nil {
			var zero API
			return zero, err
		}
		return newClient(c), nil
	})
}

// ProvideKeys provides the auth.KeySource of a process where module (the
// one that signs user tokens) is remote: the key set it publishes at
// auth.JWKSPath, fetched through its client and cached (auth.RemoteKeys).
func ProvideKeys(module string) fx.Option {
	return fx.Provide(func(r *Remotes, log *zap.Logger) (auth.KeySource, error) {
		c, err := r.Client(module)
		if err != nil {
			return nil, err
		}
		fetch := func(ctx context.Context) ([]byte, error) { return c.Get(ctx, auth.JWKSPath) }
		return auth.NewRemoteKeys(fetch, auth.RemoteKeysOptions{}, log.Named("auth")), nil
	})
}
