package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	catalogmigrations "github.com/modmono/shop/migrations/catalog"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/adapters/pg"
	"github.com/modmono/shop/modules/catalog/internal/app"
	"github.com/modmono/shop/modules/catalog/internal/cache"
	"github.com/modmono/shop/modules/catalog/internal/ports/eventport"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

var tea = catalogapi.ProductInput{Name: "Green tea", Price: 450, Currency: "EUR"}

func openCatalog(t *testing.T, dsn string, log *zap.Logger) *pgxdb.DB {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), dsn, "catalog",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: catalogmigrations.FS}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func newService(t *testing.T, db *pgxdb.DB, reg prometheus.Registerer) (*app.Service, *cache.Products) {
	t.Helper()
	c, err := cache.New(cache.Config{}, reg)
	if err != nil {
		t.Fatal(err)
	}
	return app.New(pg.NewProducts(db), c), c
}

func TestGetProductReadsThroughTheCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	svc, c := newService(t, openCatalog(t, pgtest.NewDatabase(t), zaptest.NewLogger(t)), reg)
	p, err := svc.CreateProduct(ctx, tea)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // a miss, then two hits
		if got, err := svc.GetProduct(ctx, p.ID); err != nil || got != p {
			t.Fatalf("%v %+v", err, got)
		}
	}
	unknown := uuid.New()
	for range 2 { // a not-found is not cached: two misses
		if _, err := svc.GetProduct(ctx, unknown); !errors.Is(err, catalogapi.ErrProductNotFound) {
			t.Fatalf("got %v", err)
		}
	}
	if c.Len() != 1 {
		t.Fatalf("%d entries, want 1", c.Len())
	}
	// The writing process reads its own change at once: a miss, then a hit.
	in := tea
	in.Price = 500
	if _, err := svc.UpdateProduct(ctx, p.ID, in); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := svc.GetProduct(ctx, p.ID); err != nil || got.Price != 500 {
			t.Fatalf("after update: %v %+v", err, got)
		}
	}
	want := `
# HELP catalog_cache_requests_total Product reads by the catalog: served from the in-process cache (hit) or from the database (miss).
# TYPE catalog_cache_requests_total counter
catalog_cache_requests_total{result="hit"} 3
catalog_cache_requests_total{result="miss"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "catalog_cache_requests_total"); err != nil {
		t.Fatal(err)
	}
}

// Two services over one schema stand for two processes of the catalog. The
// reader's cache holds the product; the writer changes it; the reader's
// listener, fed by the writer's outbox through a real bus, drops the entry.
func TestChangeInAnotherProcessReachesTheCacheThroughTheListener(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := zaptest.NewLogger(t)
	dsn := pgtest.NewDatabase(t)
	writerDB := openCatalog(t, dsn, log)
	writer, _ := newService(t, writerDB, nil)
	reader, readerCache := newService(t, openCatalog(t, dsn, log), nil)

	b := bus.New(bus.Config{}, bus.NewGoChannel(bus.WatermillLogger(log)), log, nil)
	b.Relay(writerDB)
	for _, l := range eventport.Listeners(readerCache) {
		if err := b.Listen(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop(context.Background()) })

	p, err := writer.CreateProduct(ctx, tea)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := reader.GetProduct(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if readerCache.Len() != 1 {
		t.Fatal("the reader did not cache the product")
	}
	in := tea
	in.Price = 900
	if _, err := writer.UpdateProduct(ctx, p.ID, in); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for readerCache.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reader's entry was not invalidated")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := reader.GetProduct(ctx, p.ID); err != nil || got.Price != 900 {
		t.Fatalf("reader after the change: %v %+v", err, got)
	}
}
