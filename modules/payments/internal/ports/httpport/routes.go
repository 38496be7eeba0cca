// Package httpport serves payments' part of the public HTTP API (SPEC §4).
package httpport

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/page"
)

type handlers struct{ api paymentsapi.API }

// Mount adds the payments routes to the /api/v1 router.
func Mount(r chi.Router, api paymentsapi.API, guard *auth.Guard, log *zap.Logger) {
	h := handlers{api: api}
	r.With(guard.Require(auth.Customer, auth.Admin)).Get("/payments", httpx.Handle(log, h.list))
}

// list answers the payments of ?order_id= (at most one) to the order's
// customer or an admin. An order with no payment is an empty list for
// anyone, so the answer does not reveal whether someone else's order exists
// before it has a payment.
func (h handlers) list(w http.ResponseWriter, r *http.Request) error {
	orderID, err := orderIDParam(r)
	if err != nil {
		return err
	}
	if _, err := page.FromQuery(r); err != nil { // validated like every list; one page always holds it all
		return err
	}
	p, err := h.api.ForOrder(r.Context(), orderID)
	if err != nil {
		return err
	}
	caller, _ := auth.FromContext(r.Context())
	for _, pay := range p.Items {
		if !caller.CanAccess(pay.CustomerID) {
			return auth.ErrForbidden
		}
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// orderIDParam reads the required ?order_id= in canonical UUID form.
func orderIDParam(r *http.Request) (uuid.UUID, error) {
	s := r.URL.Query().Get("order_id")
	if len(s) == 36 {
		if id, err := uuid.Parse(s); err == nil {
			return id, nil
		}
	}
	return uuid.Nil, &apperr.Error{Kind: httpx.ErrInvalidQuery.Kind, Code: httpx.ErrInvalidQuery.Code, Message: httpx.ErrInvalidQuery.Message,
		Fields: []apperr.FieldError{{Field: "order_id", Message: "required, a UUID"}}}
}
