// Package cache keeps recently read products in memory, so that a hot
// product is served without a database round trip.
//
// An entry is dropped when its product changes: by the writing process
// right after its commit, and in every process by the catalog's
// catalog.invalidate_cache listener. Entries also expire after MaxAge, which
// bounds how stale a product can be if an invalidation is ever lost (a
// broker reconnect drops what a private queue held).
package cache

import (
	"container/list"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modmono/shop/modules/catalog/catalogapi"
)

// Config tunes the cache. Zero values take the defaults in the comments.
type Config struct {
	Size   int              // entries kept, least recently used evicted first; default 10000
	MaxAge time.Duration    // how long an entry is served; default 1 minute
	Now    func() time.Time // the clock; default time.Now
}

func (c *Config) setDefaults() {
	if c.Size <= 0 {
		c.Size = 10_000
	}
	if c.MaxAge <= 0 {
		c.MaxAge = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Products is a bounded LRU cache of products by ID. It is safe for
// concurrent use.
type Products struct {
	cfg      Config
	requests *prometheus.CounterVec

	mu    sync.Mutex
	order *list.List                  // of *entry, most recently used first
	byID  map[uuid.UUID]*list.Element // into order
	epoch uint64                      // counts invalidations; see Epoch
}

type entry struct {
	product catalogapi.Product
	stored  time.Time
}

// New returns an empty cache that counts its lookups on reg as
// catalog_cache_requests_total{result="hit"|"miss"}. reg may be nil; a
// second cache on the same registry shares the counter.
func New(cfg Config, reg prometheus.Registerer) (*Products, error) {
	cfg.setDefaults()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "catalog_cache_requests_total",
		Help: "Product reads by the catalog: served from the in-process cache (hit) or from the database (miss).",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(requests); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				return nil, err
			}
			requests = dup.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	// Both series exist from the start, so a hit rate can be computed at once.
	requests.WithLabelValues("hit")
	requests.WithLabelValues("miss")
	return &Products{cfg: cfg, requests: requests, order: list.New(), byID: map[uuid.UUID]*list.Element{}}, nil
}

// Get returns the cached product and counts a hit, or counts a miss.
func (c *Products) Get(id uuid.UUID) (catalogapi.Product, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		e := el.Value.(*entry)
		if c.cfg.Now().Sub(e.stored) < c.cfg.MaxAge {
			c.order.MoveToFront(el)
			c.requests.WithLabelValues("hit").Inc()
			return e.product, true
		}
		c.remove(el)
	}
	c.requests.WithLabelValues("miss").Inc()
	return catalogapi.Product{}, false
}

// Epoch is read before a product is loaded from the database and handed to
// Add with it. A load can return a row read before a concurrent change
// committed; if that change's invalidation arrives before Add, storing the
// row would keep the old product until it expires. Add refuses it when any
// invalidation happened since the epoch was read.
func (c *Products) Epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// Add stores p, loaded after epoch was read, unless an invalidation
// happened since. It evicts the least recently used entry when full.
func (c *Products) Add(p catalogapi.Product, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	e := &entry{product: p, stored: c.cfg.Now()}
	if el, ok := c.byID[p.ID]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.byID[p.ID] = c.order.PushFront(e)
	if c.order.Len() > c.cfg.Size {
		c.remove(c.order.Back())
	}
}

// Invalidate drops the product's entry, if any, and makes loads that
// started before it unfit for Add.
func (c *Products) Invalidate(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
}

// Len returns the number of entries.
func (c *Products) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Products) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.byID, el.Value.(*entry).product.ID)
}
