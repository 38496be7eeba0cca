package rpc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// pool balances calls round robin over a module's instances (the base URLs
// of APP_REMOTE_<MODULE>). An instance is ejected when it fails its health
// check or EjectAfter calls in a row, and brought back when a health check
// passes. When every instance is ejected, all are tried: a guess beats
// refusing every call while the health checks catch up.
//
// With Kubernetes, APP_REMOTE_<MODULE> names the module's Service (one URL);
// kube-proxy balances across ready pods, and readiness probes eject them.
type pool struct {
	module     string
	instances  []*instance
	cursor     atomic.Uint64
	ejectAfter int32
	log        *zap.Logger
}

type instance struct {
	base     string // without a trailing slash
	up       atomic.Bool
	failures atomic.Int32
	seen     atomic.Bool // it answered once: its absence is news, not start-up
	pool     *pool
	onChange func(base string, up bool)
}

func newPool(module string, bases []string, ejectAfter int, log *zap.Logger) (*pool, error) {
	if len(bases) == 0 {
		return nil, fmt.Errorf("rpc: no base URL for module %s", module)
	}
	p := &pool{module: module, ejectAfter: int32(ejectAfter), log: log}
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("rpc: %q is not an http(s) base URL of module %s", b, module)
		}
		in := &instance{base: strings.TrimRight(b, "/"), pool: p}
		in.up.Store(true)
		p.instances = append(p.instances, in)
	}
	return p, nil
}

// next returns the next instance that is up, round robin.
func (p *pool) next() *instance {
	n := uint64(len(p.instances))
	start := p.cursor.Add(1)
	for i := range n {
		if in := p.instances[(start+i)%n]; in.up.Load() {
			return in
		}
	}
	return p.instances[start%n]
}

func (in *instance) succeeded() {
	in.failures.Store(0)
	in.seen.Store(true)
}

func (in *instance) failed(err error) {
	if in.failures.Add(1) >= in.pool.ejectAfter {
		in.set(false, "calls keep failing", err)
	}
}

func (in *instance) set(up bool, why string, err error) {
	if in.up.Swap(up) == up {
		return
	}
	switch {
	case up:
		in.failures.Store(0)
		in.seen.Store(true)
		in.pool.log.Info("remote instance is in the pool", zap.String("instance", in.base), zap.String("why", why))
	case !in.seen.Load():
		// Processes of a deployment start in any order.
		in.pool.log.Info("remote instance is not up yet", zap.String("instance", in.base), zap.String("why", why), zap.Error(err))
	default:
		in.pool.log.Warn("remote instance ejected from the pool", zap.String("instance", in.base), zap.String("why", why), zap.Error(err))
	}
	if in.onChange != nil {
		in.onChange(in.base, up)
	}
}

// watch checks every instance's /health/ready each interval until ctx ends.
func (p *pool) watch(ctx context.Context, interval time.Duration, client *http.Client) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var wg sync.WaitGroup
		for _, in := range p.instances {
			wg.Go(func() { in.check(ctx, client, interval) })
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (in *instance) check(ctx context.Context, client *http.Client, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/health/ready", nil)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil || context.Cause(ctx) == context.DeadlineExceeded {
			in.set(false, "health check failed", err)
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		in.seen.Store(true)
		in.set(true, "health check passed", nil)
	} else {
		in.set(false, "health check failed", fmt.Errorf("/health/ready answered %d", resp.StatusCode))
	}
}
