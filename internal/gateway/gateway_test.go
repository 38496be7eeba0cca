package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/internal/gateway"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/problem"
)

// fakeCatalog and fakeInventory implement only the method the gateway
// calls; the embedded interfaces are nil, so any other call panics.
type fakeCatalog struct {
	catalogapi.API
	get func(ctx context.Context, id uuid.UUID) (catalogapi.Product, error)
}

func (f fakeCatalog) GetProduct(ctx context.Context, id uuid.UUID) (catalogapi.Product, error) {
	return f.get(ctx, id)
}

type fakeInventory struct {
	inventoryapi.API
	get func(ctx context.Context, id uuid.UUID) (inventoryapi.Stock, error)
}

func (f fakeInventory) GetStock(ctx context.Context, id uuid.UUID) (inventoryapi.Stock, error) {
	return f.get(ctx, id)
}

var (
	teaStock = inventoryapi.Stock{OnHand: 12, Reserved: 2, Available: 10}
	down     = errors.New("connection refused")
)

func tea(id uuid.UUID) catalogapi.Product {
	return catalogapi.Product{ID: id, Name: "Green tea", Price: 450, Currency: "EUR"}
}

// Behaviours of one side.
func productOK(_ context.Context, id uuid.UUID) (catalogapi.Product, error) { return tea(id), nil }
func productMissing(context.Context, uuid.UUID) (catalogapi.Product, error) {
	return catalogapi.Product{}, catalogapi.ErrProductNotFound
}
func productDown(context.Context, uuid.UUID) (catalogapi.Product, error) {
	return catalogapi.Product{}, down
}
func productSlow(ctx context.Context, _ uuid.UUID) (catalogapi.Product, error) {
	<-ctx.Done()
	return catalogapi.Product{}, ctx.Err()
}
func stockOK(context.Context, uuid.UUID) (inventoryapi.Stock, error) { return teaStock, nil }
func stockDown(context.Context, uuid.UUID) (inventoryapi.Stock, error) {
	return inventoryapi.Stock{}, down
}
func stockSlow(ctx context.Context, _ uuid.UUID) (inventoryapi.Stock, error) {
	<-ctx.Done()
	return inventoryapi.Stock{}, ctx.Err()
}

// stockStuck ignores its context, as a broken client might.
func stockStuck(t *testing.T) func(context.Context, uuid.UUID) (inventoryapi.Stock, error) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(context.Context, uuid.UUID) (inventoryapi.Stock, error) {
		<-release
		return inventoryapi.Stock{}, nil
	}
}

func stockPanics(context.Context, uuid.UUID) (inventoryapi.Stock, error) {
	panic("inventory client bug")
}

const testTimeout = 100 * time.Millisecond

// server is the gateway on a router built as the host builds its own.
func server(t *testing.T, c catalogapi.API, i inventoryapi.API) http.Handler {
	root := httpx.NewRouter(httpx.Options{Logger: zaptest.NewLogger(t)})
	api := chi.NewRouter()
	root.Mount("/api/v1", api)
	gateway.MountWithTimeout(api, c, i, zaptest.NewLogger(t), testTimeout)
	return root
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestProductDetails(t *testing.T) {
	t.Parallel()
	type want struct {
		status   int
		code     string // of a problem
		product  bool
		stock    bool
		degraded []string
	}
	for name, tc := range map[string]struct {
		product func(context.Context, uuid.UUID) (catalogapi.Product, error)
		stock   func(context.Context, uuid.UUID) (inventoryapi.Stock, error)
		want    want
	}{
		"both answer":                   {productOK, stockOK, want{200, "", true, true, []string{}}},
		"unknown product":               {productMissing, stockOK, want{404, "catalog.product_not_found", false, false, nil}},
		"unknown product, no inventory": {productMissing, stockDown, want{404, "catalog.product_not_found", false, false, nil}},
		"inventory down":                {productOK, stockDown, want{200, "", true, false, []string{"inventory"}}},
		"inventory slow":                {productOK, stockSlow, want{200, "", true, false, []string{"inventory"}}},
		"inventory panics":              {productOK, stockPanics, want{200, "", true, false, []string{"inventory"}}},
		"catalog down":                  {productDown, stockOK, want{200, "", false, true, []string{"catalog"}}},
		"catalog slow":                  {productSlow, stockOK, want{200, "", false, true, []string{"catalog"}}},
		"both down":                     {productDown, stockDown, want{503, "gateway.unavailable", false, false, nil}},
		"both slow":                     {productSlow, stockSlow, want{503, "gateway.unavailable", false, false, nil}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			id := uuid.New()
			rec := get(t, server(t, fakeCatalog{get: tc.product}, fakeInventory{get: tc.stock}), "/api/v1/products/"+id.String()+"/details")
			if rec.Code != tc.want.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want.status, rec.Body)
			}
			if tc.want.code != "" {
				var p problem.Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != tc.want.code ||
					rec.Header().Get("Content-Type") != problem.ContentType {
					t.Fatalf("want problem %s, got %s (%v)", tc.want.code, rec.Body, err)
				}
				return
			}
			var d gateway.Details
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			if (d.Product != nil) != tc.want.product || (d.Stock != nil) != tc.want.stock || !slices.Equal(d.Degraded, tc.want.degraded) {
				t.Fatalf("got %s, want %+v", rec.Body, tc.want)
			}
			if d.Product != nil && *d.Product != tea(id) || d.Stock != nil && *d.Stock != teaStock {
				t.Fatalf("got %s", rec.Body)
			}
		})
	}
}

// The JSON shape is the contract: null sides and an empty degraded list are spelled out.
func TestProductDetailsShape(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	rec := get(t, server(t, fakeCatalog{get: productOK}, fakeInventory{get: stockDown}), "/api/v1/products/"+id.String()+"/details")
	want := `{"product":{"id":"` + id.String() + `","name":"Green tea","description":"","price":450,"currency":"EUR"},"stock":null,"degraded":["inventory"]}` + "\n"
	if rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %s", rec.Body)
	}
	rec = get(t, server(t, fakeCatalog{get: productOK}, fakeInventory{get: stockOK}), "/api/v1/products/"+id.String()+"/details")
	want = `{"product":{"id":"` + id.String() + `","name":"Green tea","description":"","price":450,"currency":"EUR"},"stock":{"on_hand":12,"reserved":2,"available":10},"degraded":[]}` + "\n"
	if rec.Body.String() != want {
		t.Fatalf("got %s", rec.Body)
	}
}

// A side that ignores its context still cannot hold the answer past the timeout.
func TestProductDetailsDoesNotWaitForAStuckSide(t *testing.T) {
	t.Parallel()
	rec := get(t, server(t, fakeCatalog{get: productOK}, fakeInventory{get: stockStuck(t)}), "/api/v1/products/"+uuid.NewString()+"/details")
	var d gateway.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); rec.Code != 200 || err != nil || !slices.Equal(d.Degraded, []string{"inventory"}) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// Both modules are asked at once: each fake answers only once the other
// has been called, which sequential calls would never see.
func TestProductDetailsCallsBothSidesConcurrently(t *testing.T) {
	t.Parallel()
	catalogCalled, inventoryCalled := make(chan struct{}), make(chan struct{})
	wait := func(ctx context.Context, other chan struct{}) error {
		select {
		case <-other:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := fakeCatalog{get: func(ctx context.Context, id uuid.UUID) (catalogapi.Product, error) {
		close(catalogCalled)
		return tea(id), wait(ctx, inventoryCalled)
	}}
	i := fakeInventory{get: func(ctx context.Context, _ uuid.UUID) (inventoryapi.Stock, error) {
		close(inventoryCalled)
		return teaStock, wait(ctx, catalogCalled)
	}}
	rec := get(t, server(t, c, i), "/api/v1/products/"+uuid.NewString()+"/details")
	var d gateway.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); rec.Code != 200 || err != nil || len(d.Degraded) != 0 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestProductDetailsRejectsABadID(t *testing.T) {
	t.Parallel()
	called := false
	c := fakeCatalog{get: func(ctx context.Context, id uuid.UUID) (catalogapi.Product, error) {
		called = true
		return tea(id), nil
	}}
	rec := get(t, server(t, c, fakeInventory{get: stockOK}), "/api/v1/products/not-a-uuid/details")
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); rec.Code != 400 || err != nil || p.Code != "http.invalid_id" || called {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
