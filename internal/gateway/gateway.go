// Package gateway serves the public routes that compose several modules
// (API composition). It is not part of any module: it calls modules only
// through their surface interfaces, so it works the same whether a module
// runs in this process or in another one, and it degrades gracefully when
// one of them is down.
package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/async"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/httpx"
)

// CallTimeout bounds each module call of a composed request.
const CallTimeout = time.Second

// ErrUnavailable means none of the modules behind a composed resource (the catalog and inventory
// for product details) answered. Retry later; /health/ready shows which dependency is down.
var ErrUnavailable = apperr.New(apperr.KindUnavailable, "gateway.unavailable",
	"the services behind this resource are unavailable; retry later")

// Sides of a composition, as named in Details.Degraded.
const (
	SideCatalog   = "catalog"
	SideInventory = "inventory"
)

// Module mounts the gateway's routes on the process's /api/v1 router. It
// needs catalogapi.API and inventoryapi.API, whether local or remote.
var Module = fx.Module("gateway",
	fx.Invoke(func(h *host.HTTP, catalog catalogapi.API, inventory inventoryapi.API, log *zap.Logger) {
		Mount(h.API, catalog, inventory, log.Named("gateway"))
	}),
)

// Mount adds the composed routes to the /api/v1 router r. They are public.
func Mount(r chi.Router, catalog catalogapi.API, inventory inventoryapi.API, log *zap.Logger) {
	mount(r, catalog, inventory, log, CallTimeout)
}

func mount(r chi.Router, catalog catalogapi.API, inventory inventoryapi.API, log *zap.Logger, timeout time.Duration) {
	if log == nil {
		log = zap.NewNop()
	}
	h := handlers{catalog: catalog, inventory: inventory, log: log, timeout: timeout}
	r.Get("/products/{id}/details", httpx.Handle(log, h.productDetails))
}

// Details is the answer of GET /api/v1/products/{id}/details. A side that
// failed or did not answer in time is null and named in Degraded, which is
// empty (not null) when both answered.
type Details struct {
	Product  *catalogapi.Product `json:"product"`
	Stock    *inventoryapi.Stock `json:"stock"`
	Degraded []string            `json:"degraded"`
}

type handlers struct {
	catalog   catalogapi.API
	inventory inventoryapi.API
	log       *zap.Logger
	timeout   time.Duration
}

// productDetails asks the catalog and inventory at the same time. A product
// the catalog does not know is a 404 whatever inventory says; a side that
// fails leaves the other's answer standing (200, degraded); only when both
// fail is the answer an error (503).
func (h handlers) productDetails(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	getProduct := async.Call(ctx, h.timeout, func(ctx context.Context) (catalogapi.Product, error) {
		return h.catalog.GetProduct(ctx, id)
	})
	getStock := async.Call(ctx, h.timeout, func(ctx context.Context) (inventoryapi.Stock, error) {
		return h.inventory.GetStock(ctx, id)
	})
	product, productErr := getProduct()
	stock, stockErr := getStock()

	if errors.Is(productErr, catalogapi.ErrProductNotFound) {
		return productErr
	}
	if ctx.Err() != nil {
		return ctx.Err() // the client left or the request timed out: not the modules' fault
	}
	if productErr != nil && stockErr != nil {
		return ErrUnavailable.Wrap(errors.Join(productErr, stockErr))
	}
	d := Details{Degraded: []string{}}
	if productErr == nil {
		d.Product = &product
	} else {
		d.Degraded = append(d.Degraded, SideCatalog)
	}
	if stockErr == nil {
		d.Stock = &stock
	} else {
		d.Degraded = append(d.Degraded, SideInventory)
	}
	if len(d.Degraded) > 0 {
		h.log.Warn("product details degraded", zap.Strings("degraded", d.Degraded),
			zap.NamedError("catalog_error", productErr), zap.NamedError("inventory_error", stockErr),
			zap.String("correlation_id", correlation.ID(ctx)))
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}
