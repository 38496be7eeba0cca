// Package httpport serves inventory's part of the public HTTP API (SPEC §4).
package httpport

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
)

type handlers struct{ api inventoryapi.API }

// Mount adds the inventory routes to the /api/v1 router.
func Mount(r chi.Router, api inventoryapi.API, guard *auth.Guard, log *zap.Logger) {
	h := handlers{api: api}
	r.Get("/inventory/{product_id}", httpx.Handle(log, h.get))
	r.With(guard.Require(auth.Admin)).Put("/inventory/{product_id}", httpx.Handle(log, h.set))
}

func (h handlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "product_id")
	if err != nil {
		return err
	}
	s, err := h.api.GetStock(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s)
	return nil
}

func (h handlers) set(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "product_id")
	if err != nil {
		return err
	}
	// A pointer tells a missing on_hand from 0: {} must not empty the shelf.
	var in struct {
		OnHand *int64 `json:"on_hand"`
	}
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.OnHand == nil {
		return apperr.Invalid(inventoryapi.ErrInvalidStock.Code, apperr.FieldError{Field: "on_hand", Message: "required"})
	}
	s, err := h.api.SetStock(r.Context(), id, inventoryapi.SetStockInput{OnHand: *in.OnHand})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s)
	return nil
}
