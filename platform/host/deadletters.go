package host

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/httpx"
)

// mountDeadLetters serves the dead-letter store of this process's consumers:
// GET /admin/dead-letters lists them, POST /admin/dead-letters/{id}/replay
// runs one again.
func mountDeadLetters(r chi.Router, b *bus.Bus, log *zap.Logger) {
	r.Get("/admin/dead-letters", httpx.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		limit, err := httpx.QueryInt(r, "limit", 100, 1, 1000)
		if err != nil {
			return err
		}
		list, err := b.DeadLetters(r.Context(), limit)
		if err != nil {
			return err
		}
		if list == nil {
			list = []bus.DeadLetter{}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": list, "next_cursor": nil})
		return nil
	}))
	r.Post("/admin/dead-letters/{id}/replay", httpx.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := httpx.UUIDParam(r, "id")
		if err != nil {
			return err
		}
		if err := b.Replay(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
}
