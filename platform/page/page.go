// Package page is keyset pagination for list endpoints: a page of items and
// an opaque cursor that resumes after the last one.
package page

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
)

// Limits of the limit query parameter.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page is the JSON shape of every list response.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// Request is a parsed limit and cursor; After is the key to resume after,
// uuid.Nil for the first page.
type Request struct {
	Limit int
	After uuid.UUID
}

// Validate refuses a limit outside 1..MaxLimit, for requests that do not
// come from FromQuery (a module's API called by another module).
func (r Request) Validate() error {
	if r.Limit < 1 || r.Limit > MaxLimit {
		return ErrInvalid
	}
	return nil
}

// ErrInvalid means the limit or the cursor of a list request is invalid: limit must be a whole
// number from 1 to 200, and cursor must be the next_cursor of a previous page of the same list,
// unchanged.
var ErrInvalid = apperr.New(apperr.KindInvalid, "http.invalid_page", "limit must be 1-200 and cursor must come from a previous page")

// FromQuery reads ?limit= and ?cursor= from r.
func FromQuery(r *http.Request) (Request, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Request{}, ErrInvalid // a malformed query is refused, not half read
	}
	req := Request{Limit: DefaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Request{}, ErrInvalid
		}
		req.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) != 16 {
			return Request{}, ErrInvalid
		}
		req.After = uuid.UUID(raw)
	}
	return req, nil
}

// Cursor returns the cursor that resumes after id.
func Cursor(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// Of builds a page from items fetched with limit+1 rows: the extra row, if
// present, only says that another page exists.
func Of[T any](items []T, limit int, key func(T) uuid.UUID) Page[T] {
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		c := Cursor(key(p.Items[limit-1]))
		p.NextCursor = &c
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}
