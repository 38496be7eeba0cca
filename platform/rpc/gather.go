package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/problem"
)

// Process is another process of the deployment as this one knows it: the
// remote modules it runs (those whose APP_REMOTE_<MODULE> names the same
// base URLs) and its instances.
type Process struct {
	Modules   []string   // sorted
	Instances []Instance // in the order of APP_REMOTE_<MODULE>
	client    *Client    // of its first module: its pool, transport and tokens
}

// Instance is one instance of a remote process and what its health checks say.
type Instance struct {
	URL string `json:"url"`
	Up  bool   `json:"up"`
}

// Base returns the base URL of the process's first instance that is up, or
// of its first instance when none is: the one Ask talks to.
func (p Process) Base() string {
	for _, in := range p.Instances {
		if in.Up {
			return in.URL
		}
	}
	return p.Instances[0].URL
}

// Processes returns the distinct remote processes, ordered by their first
// module's name. Several instances of one process are one Process: what it
// answers comes from its module's database, which they share.
func (r *Remotes) Processes() []Process {
	byBases := map[string]*Process{}
	var keys []string
	for _, name := range r.Modules() {
		c := r.clients[name]
		var bases []string
		for _, in := range c.pool.instances {
			bases = append(bases, in.base)
		}
		key := strings.Join(bases, " ")
		p, ok := byBases[key]
		if !ok {
			p = &Process{client: c}
			for _, in := range c.pool.instances {
				p.Instances = append(p.Instances, Instance{URL: in.base, Up: in.up.Load()})
			}
			byBases[key] = p
			keys = append(keys, key)
		}
		p.Modules = append(p.Modules, name)
	}
	out := make([]Process, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byBases[k])
	}
	return out
}

// Instances returns the instances of module's remote and their health, or
// nil when module is not remote.
func (r *Remotes) Instances(module string) []Instance {
	c, ok := r.clients[module]
	if !ok {
		return nil
	}
	var out []Instance
	for _, in := range c.pool.instances {
		out = append(out, Instance{URL: in.base, Up: in.up.Load()})
	}
	return out
}

// Ask sends one request with this process's service token to path (under
// PathPrefix, e.g. "/admin/outbox") on p, and decodes a 200 answer into out
// (which may be nil). An answer that is a problem with a code comes back as
// that *apperr.Error (errors.Is works); anything else is an error saying
// what happened. Ask does not retry and does not count against the
// breaker: it serves the operators' views, not the modules' calls. ctx
// should carry a deadline.
func (r *Remotes) Ask(ctx context.Context, p Process, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	base := p.Base()
	req, err := http.NewRequestWithContext(ctx, method, base+PathPrefix+path, rd)
	if err != nil {
		return err
	}
	token, err := p.client.tokens.Token()
	if err != nil {
		return fmt.Errorf("rpc: service token: %w", err)
	}
	req.Header.Set(auth.ServiceHeader, token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	propagate(ctx, req.Header)
	resp, err := p.client.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s at %s: %w", method, path, base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s %s at %s: read the answer: %w", method, path, base, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK && out != nil:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s at %s: decode the answer: %w", method, path, base, err)
		}
		return nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == problem.ContentType {
		var pr problem.Problem
		if json.Unmarshal(b, &pr) == nil && pr.Code != "" {
			return pr.Err()
		}
	}
	return fmt.Errorf("%s %s at %s: status %d", method, path, base, resp.StatusCode)
}

// Answer is what one process answered to Gather.
type Answer[T any] struct {
	Process Process
	Value   T
	Err     error // the process did not answer in time, or failed
}

// Gather asks every remote process for its part of a view with GET path
// (under PathPrefix), all at once, each within timeout, and returns their
// answers in the order of Processes. A process that fails or does not answer
// in time has its Err set; the others' answers are there all the same, so
// one process down never fails the whole view.
//
// Each process serves its own part at that path on its /internal router
// (service tokens only): the admin views (architecture, outbox, dead
// letters) are gathered so; a view of recent traces can be too.
func Gather[T any](ctx context.Context, r *Remotes, path string, timeout time.Duration) []Answer[T] {
	procs := r.Processes()
	answers := make([]Answer[T], len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		answers[i].Process = p
		wg.Go(func() {
			actx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			answers[i].Err = r.Ask(actx, p, http.MethodGet, path, nil, &answers[i].Value)
		})
	}
	wg.Wait()
	return answers
}

// Failed returns the sorted module names of the processes that did not answer.
func Failed[T any](answers []Answer[T]) []string {
	var names []string
	for _, a := range answers {
		if a.Err != nil {
			names = append(names, a.Process.Modules...)
		}
	}
	slices.Sort(names)
	return names
}
