package httpx

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
)

// UUIDParam returns the chi path parameter name as a UUID. Only the canonical
// 36-character form is accepted, so one resource has one URL; anything else is
// a 400 http.invalid_id.
func UUIDParam(r *http.Request, name string) (uuid.UUID, error) {
	s := chi.URLParam(r, name)
	if len(s) == 36 {
		if id, err := uuid.Parse(s); err == nil {
			return id, nil
		}
	}
	return uuid.Nil, &apperr.Error{Kind: ErrInvalidID.Kind, Code: ErrInvalidID.Code, Message: ErrInvalidID.Message,
		Fields: []apperr.FieldError{{Field: name, Message: "must be a UUID"}}}
}

// QueryInt returns the query parameter name as an int in [min, max], or def
// when it is absent or empty. Anything else is a 400 http.invalid_query.
func QueryInt(r *http.Request, name string, def, min, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, &apperr.Error{Kind: ErrInvalidQuery.Kind, Code: ErrInvalidQuery.Code, Message: ErrInvalidQuery.Message,
			Fields: []apperr.FieldError{{Field: name, Message: fmt.Sprintf("must be an integer from %d to %d", min, max)}}}
	}
	return n, nil
}
