// Package httpport serves GET /notifications.
package httpport

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/page"
)

// Mount adds the notifications route to the /api/v1 router.
func Mount(r chi.Router, api notificationsapi.API, guard *auth.Guard, log *zap.Logger) {
	r.With(guard.Require(auth.Customer)).Get("/notifications", httpx.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		req, err := page.FromQuery(r)
		if err != nil {
			return err
		}
		list, err := api.List(r.Context(), p.UserID, req)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, list)
		return nil
	}))
}
