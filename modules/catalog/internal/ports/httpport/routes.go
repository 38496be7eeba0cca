// Package httpport serves the catalog's part of the public HTTP API (SPEC §4).
package httpport

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/page"
)

type handlers struct{ api catalogapi.API }

// Mount adds the catalog routes to the /api/v1 router.
func Mount(r chi.Router, api catalogapi.API, guard *auth.Guard, log *zap.Logger) {
	h := handlers{api: api}
	r.Get("/products", httpx.Handle(log, h.list))
	r.Get("/products/{id}", httpx.Handle(log, h.get))
	r.With(guard.Require(auth.Admin)).Post("/products", httpx.Handle(log, h.create))
	r.With(guard.Require(auth.Admin)).Put("/products/{id}", httpx.Handle(log, h.replace))
}

func (h handlers) list(w http.ResponseWriter, r *http.Request) error {
	req, err := page.FromQuery(r)
	if err != nil {
		return err
	}
	p, err := h.api.ListProducts(r.Context(), req)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h handlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	p, err := h.api.GetProduct(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h handlers) create(w http.ResponseWriter, r *http.Request) error {
	var in catalogapi.ProductInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	p, err := h.api.CreateProduct(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/products/"+p.ID.String())
	httpx.WriteJSON(w, http.StatusCreated, p)
	return nil
}

func (h handlers) replace(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	var in catalogapi.ProductInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	p, err := h.api.UpdateProduct(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}
