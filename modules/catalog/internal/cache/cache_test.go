package cache_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/cache"
)

func product(name string) catalogapi.Product {
	return catalogapi.Product{ID: uuid.New(), Name: name, Price: 100, Currency: "EUR"}
}

func newCache(t *testing.T, cfg cache.Config, reg prometheus.Registerer) *cache.Products {
	t.Helper()
	c, err := cache.New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCountsHitsAndMisses(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := newCache(t, cache.Config{}, reg)
	p := product("tea")
	if _, ok := c.Get(p.ID); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Add(p, c.Epoch())
	for range 3 {
		if got, ok := c.Get(p.ID); !ok || got != p {
			t.Fatalf("%v %+v", ok, got)
		}
	}
	// A second cache on the registry (a second service in one process) shares the counter.
	newCache(t, cache.Config{}, reg).Get(p.ID)
	want := `
# HELP catalog_cache_requests_total Product reads by the catalog: served from the in-process cache (hit) or from the database (miss).
# TYPE catalog_cache_requests_total counter
catalog_cache_requests_total{result="hit"} 3
catalog_cache_requests_total{result="miss"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "catalog_cache_requests_total"); err != nil {
		t.Fatal(err)
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Config{Size: 2}, nil)
	a, b, d := product("a"), product("b"), product("d")
	c.Add(a, c.Epoch())
	c.Add(b, c.Epoch())
	c.Get(a.ID) // b is now the least recently used
	c.Add(d, c.Epoch())
	if _, ok := c.Get(b.ID); ok || c.Len() != 2 {
		t.Fatalf("b kept, or %d entries", c.Len())
	}
	if _, ok := c.Get(a.ID); !ok {
		t.Fatal("a evicted")
	}
	a.Price = 200
	c.Add(a, c.Epoch()) // replaces, does not grow
	if got, _ := c.Get(a.ID); got.Price != 200 || c.Len() != 2 {
		t.Fatalf("%+v, %d entries", got, c.Len())
	}
}

func TestEntriesExpire(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := newCache(t, cache.Config{MaxAge: time.Minute, Now: func() time.Time { return now }}, nil)
	p := product("tea")
	c.Add(p, c.Epoch())
	now = now.Add(59 * time.Second)
	if _, ok := c.Get(p.ID); !ok {
		t.Fatal("expired early")
	}
	now = now.Add(time.Second)
	if _, ok := c.Get(p.ID); ok || c.Len() != 0 {
		t.Fatal("served after MaxAge")
	}
}

func TestInvalidate(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Config{}, nil)
	p := product("tea")
	c.Add(p, c.Epoch())
	c.Invalidate(p.ID)
	if _, ok := c.Get(p.ID); ok {
		t.Fatal("served after Invalidate")
	}
	c.Invalidate(uuid.New()) // unknown: nothing to drop, no panic
}

// A load that raced with a change must not put the old product back after
// the change's invalidation.
func TestAddRefusesALoadOlderThanAnInvalidation(t *testing.T) {
	t.Parallel()
	c := newCache(t, cache.Config{}, nil)
	old := product("tea")
	epoch := c.Epoch() // the load starts and reads the old row
	c.Invalidate(old.ID)
	c.Add(old, epoch) // the load ends
	if _, ok := c.Get(old.ID); ok {
		t.Fatal("a stale load was cached")
	}
	c.Add(old, c.Epoch())
	if _, ok := c.Get(old.ID); !ok {
		t.Fatal("a fresh load was not cached")
	}
}
