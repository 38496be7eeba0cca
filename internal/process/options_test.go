package process_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/host"
)

// A process that seeds demo data is ready only once the products are there:
// the first time /health/ready answers 200, the catalog lists all of them, so
// a script that waits for readiness finds a shop to browse.
func TestReadyMeansTheDemoProductsAreListed(t *testing.T) {
	t.Parallel()
	var h *host.HTTP
	apptest.Start(t, map[string]string{"APP_SEED_DEMO": "true"}, &h)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.Root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	deadline := time.Now().Add(time.Minute)
	for get("/health/ready").Code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready after a minute: %s", get("/health/ready").Body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rec := get("/api/v1/products?limit=200")
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(page.Items) != 8 {
		t.Fatalf("ready, but the catalog lists %d products, want the 8 demo products", len(page.Items))
	}
	for _, p := range page.Items {
		stock := get("/api/v1/inventory/" + p.ID)
		if stock.Code != http.StatusOK {
			t.Errorf("ready, but product %s has no stock record: %d %s", p.ID, stock.Code, stock.Body)
		}
	}
}
