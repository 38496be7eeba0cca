package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/internal/gateway"
	"github.com/modmono/shop/modules/catalog"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
)

// The route over the real catalog and inventory modules, wired by fx as a
// process wires them, on a fresh Postgres database.
func TestProductDetailsOverTheRealModules(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DATABASE_URL":   pgtest.NewDatabase(t),
		"APP_DATA_DIR":   t.TempDir(),
		"APP_SEED_DEMO":  "false",
		"APP_JWT_SECRET": "gateway-test-" + strings.Repeat("s", 40),
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, []string{catalog.Name, inventory.Name})
	if err != nil {
		t.Fatal(err)
	}
	var (
		h   *host.HTTP
		cat catalogapi.API
		inv inventoryapi.API
	)
	app := fx.New(
		host.Platform(cfg, zaptest.NewLogger(t), nil),
		catalog.Module,
		inventory.Module,
		gateway.Module,
		fx.Invoke(host.Run),
		fx.Populate(&h, &cat, &inv),
	)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop(context.Background()) })

	p, err := cat.CreateProduct(ctx, catalogapi.ProductInput{Name: "Green tea", Price: 450, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.SetStock(ctx, p.ID, inventoryapi.SetStockInput{OnHand: 7}); err != nil {
		t.Fatal(err)
	}
	if err := inv.Reserve(ctx, uuid.New(), []inventoryapi.Line{{ProductID: p.ID, Quantity: 2}}); err != nil {
		t.Fatal(err)
	}

	rec := get(t, h.Root, "/api/v1/products/"+p.ID.String()+"/details")
	var d gateway.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if d.Product == nil || *d.Product != p || d.Stock == nil || *d.Stock != (inventoryapi.Stock{OnHand: 7, Reserved: 2, Available: 5}) ||
		len(d.Degraded) != 0 {
		t.Fatalf("got %s", rec.Body)
	}

	if rec := get(t, h.Root, "/api/v1/products/"+uuid.NewString()+"/details"); rec.Code != http.StatusNotFound ||
		!strings.Contains(rec.Body.String(), `"code":"catalog.product_not_found"`) {
		t.Fatalf("unknown product: %d %s", rec.Code, rec.Body)
	}

	// The catalog's cache counts on the process's registry: the product was
	// read above, so another details read is one more hit.
	hits := cacheHits(t, h)
	get(t, h.Root, "/api/v1/products/"+p.ID.String()+"/details")
	if got := cacheHits(t, h); got != hits+1 {
		t.Fatalf("cache hits in /metrics went from %d to %d", hits, got)
	}
}

var hitsLine = regexp.MustCompile(`(?m)^catalog_cache_requests_total\{result="hit"\} (\d+)$`)

func cacheHits(t *testing.T, h *host.HTTP) int {
	t.Helper()
	body := get(t, h.Root, "/metrics").Body.String()
	m := hitsLine.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no catalog_cache_requests_total in /metrics:\n%s", body)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
