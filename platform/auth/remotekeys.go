package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

// RemoteKeysOptions tune RemoteKeys. Zero values take the defaults in the comments.
type RemoteKeysOptions struct {
	// Timeout bounds one fetch; default 3s.
	Timeout time.Duration
	// MinInterval is the least time between two fetches, however many
	// unknown key IDs arrive: a flood of forged kids cannot hammer identity;
	// default 5s.
	MinInterval time.Duration
	// MaxAge is how long a fetched set is used before it is fetched again
	// (so a key identity stopped publishing is dropped); default 5m.
	MaxAge time.Duration
}

func (o *RemoteKeysOptions) setDefaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.Timeout, 3*time.Second)
	set(&o.MinInterval, 5*time.Second)
	set(&o.MaxAge, 5*time.Minute)
}

// RemoteKeys is the KeySource of a process where identity is remote: the
// key set identity publishes at JWKSPath, fetched on first use, again when
// a token names a key it does not hold (identity rotated its keys) or when
// the set is older than MaxAge, never more often than MinInterval. A failed
// fetch keeps the last good set. It is safe for concurrent use.
type RemoteKeys struct {
	fetch func(ctx context.Context) ([]byte, error)
	opts  RemoteKeysOptions
	log   *zap.Logger
	now   func() time.Time

	mu        sync.Mutex
	keys      PublicKeys
	fetchedAt time.Time     // of the set in keys
	triedAt   time.Time     // of the last fetch, good or not
	inflight  chan struct{} // closed when the running fetch ends
}

// NewRemoteKeys returns the key source that fetch reads: it GETs identity's
// JWKSPath and returns the body.
func NewRemoteKeys(fetch func(ctx context.Context) ([]byte, error), opts RemoteKeysOptions, log *zap.Logger) *RemoteKeys {
	opts.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	return &RemoteKeys{fetch: fetch, opts: opts, log: log, now: time.Now}
}

// Key returns identity's key kid, fetching the set when kid is not in it
// or it is too old.
func (r *RemoteKeys) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	keys, err := r.current(ctx, func(keys PublicKeys) bool { _, ok := keys[kid]; return ok })
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	if err != nil {
		return nil, errors.Join(ErrUnknownKey, err)
	}
	return nil, ErrUnknownKey
}

// PublicKeys returns identity's keys, fetching them when there are none
// yet or they are too old.
func (r *RemoteKeys) PublicKeys(ctx context.Context) (PublicKeys, error) {
	keys, err := r.current(ctx, func(keys PublicKeys) bool { return len(keys) > 0 })
	if len(keys) == 0 {
		return nil, errors.Join(ErrKeysUnavailable, err)
	}
	return keys, nil
}

// current returns the key set. When enough does not hold of it, it waits
// for a fetch (one already running, or a new one when MinInterval has
// passed since the last); when the set is only too old, it starts a fetch
// and answers at once, so verifying does not wait on identity while the
// set it has will do.
func (r *RemoteKeys) current(ctx context.Context, enough func(PublicKeys) bool) (PublicKeys, error) {
	r.mu.Lock()
	keys, have := r.keys, enough(r.keys)
	if have && r.now().Sub(r.fetchedAt) < r.opts.MaxAge {
		r.mu.Unlock()
		return keys, nil
	}
	wait := r.inflight
	if wait == nil && r.now().Sub(r.triedAt) >= r.opts.MinInterval {
		wait = make(chan struct{})
		r.inflight, r.triedAt = wait, r.now()
		go r.refresh(wait)
	}
	r.mu.Unlock()
	if wait == nil || have {
		return keys, nil
	}
	select {
	case <-wait:
	case <-ctx.Done():
		return keys, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys, nil
}

// refresh fetches the key set, keeping the last good one when it fails.
// It runs on its own context: a caller that leaves does not cancel the
// fetch the others wait for.
func (r *RemoteKeys) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	body, err := r.fetch(ctx)
	var keys PublicKeys
	if err == nil {
		keys, err = ParseJWKS(body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.keys, r.fetchedAt = keys, r.now()
	} else {
		r.log.Warn("cannot fetch identity's public keys; keeping the last ones", zap.Int("keys", len(r.keys)), zap.Error(err))
	}
	r.inflight = nil
	close(done)
}
