// Package httpport serves ordering's part of the public HTTP API (SPEC §4).
package httpport

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/page"
	"github.com/modmono/shop/platform/ratelimit"
)

// Limits of order placement per customer.
type Limits struct {
	PlacePerMinute int // default 60
}

type handlers struct {
	api   orderingapi.API
	sagas SagaReader
}

// SagaReader reads an order's checkout saga for the admin API.
type SagaReader interface {
	Saga(ctx context.Context, orderID uuid.UUID) (app.SagaView, error)
}

// ErrInvalidStatus means the status filter of GET /api/v1/orders is not an order status; use
// pending, confirmed or cancelled, or leave it out.
var ErrInvalidStatus = apperr.New(apperr.KindInvalid, "ordering.invalid_status", "status must be pending, confirmed or cancelled")

// Mount adds the ordering routes to the /api/v1 router.
func Mount(r chi.Router, api orderingapi.API, sagas SagaReader, guard *auth.Guard, limiter *ratelimit.Limiter, limits Limits, log *zap.Logger) {
	if limits.PlacePerMinute == 0 {
		limits.PlacePerMinute = 60
	}
	h := handlers{api: api, sagas: sagas}
	customers := r.With(guard.Require(auth.Customer))
	placing := ratelimit.Rule{Name: "ordering.place", Limit: limits.PlacePerMinute, Window: time.Minute}
	customers.With(limiter.Limit(placing, byCaller)).Post("/orders", httpx.Handle(log, h.place))
	customers.Get("/orders", httpx.Handle(log, h.list))
	owners := r.With(guard.Require(auth.Customer, auth.Admin))
	owners.Get("/orders/{id}", httpx.Handle(log, h.get))
	owners.Post("/orders/{id}/cancel", httpx.Handle(log, h.cancel))
	r.With(guard.Require(auth.Admin)).Get("/admin/sagas/{order_id}", httpx.Handle(log, h.saga))
}

// saga answers an order's saga: its status and every step's outcome.
func (h handlers) saga(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "order_id")
	if err != nil {
		return err
	}
	v, err := h.sagas.Saga(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// byCaller rate-limits per authenticated user (routes behind Require).
func byCaller(r *http.Request) (string, error) {
	p, _ := auth.FromContext(r.Context())
	return p.UserID.String(), nil
}

func (h handlers) place(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return orderingapi.ErrIdempotencyKeyMissing
	}
	var in orderingapi.PlaceOrderInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	placed, err := h.api.PlaceOrder(r.Context(), p.UserID, key, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orders/"+placed.ID.String())
	httpx.WriteJSON(w, http.StatusAccepted, placed)
	return nil
}

func (h handlers) get(w http.ResponseWriter, r *http.Request) error {
	o, err := h.owned(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (h handlers) list(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	req, err := page.FromQuery(r)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains([]string{orderingapi.StatusPending, orderingapi.StatusConfirmed, orderingapi.StatusCancelled}, status) {
		return ErrInvalidStatus
	}
	list, err := h.api.ListOrders(r.Context(), orderingapi.ListQuery{CustomerID: p.UserID, Status: status, Page: req})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list)
	return nil
}

// cancel leaves it to the module to check that the caller may cancel the
// order (its customer or an admin).
func (h handlers) cancel(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	o, err := h.api.CancelOrder(r.Context(), id, p)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if o.Status != orderingapi.StatusCancelled {
		status = http.StatusAccepted // the compensation is still running
	}
	httpx.WriteJSON(w, status, o)
	return nil
}

// owned returns the order in the path if the caller owns it or is an admin.
func (h handlers) owned(r *http.Request) (orderingapi.Order, error) {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return orderingapi.Order{}, err
	}
	o, err := h.api.GetOrder(r.Context(), id)
	if err != nil {
		return orderingapi.Order{}, err
	}
	if p, _ := auth.FromContext(r.Context()); !p.CanAccess(o.CustomerID) {
		return orderingapi.Order{}, auth.ErrForbidden
	}
	return o, nil
}
