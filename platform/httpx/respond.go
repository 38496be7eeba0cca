package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/problem"
)

// The errors httpx itself returns. Match them with errors.Is; each keeps its
// code when it crosses the wire.
var (
	// ErrNotFound means no route or resource is at this path. The OpenAPI document at
	// /api/openapi.json lists every route.
	ErrNotFound = apperr.New(apperr.KindNotFound, "http.not_found", "no resource at this path")
	// ErrMethodNotAllowed means the path exists but not with this method; the Allow header lists the
	// methods it takes.
	ErrMethodNotAllowed = apperr.New(apperr.KindMethodNotAllowed, "http.method_not_allowed", "the method is not allowed on this path")
	// ErrUnsupportedMediaType means the request body is not declared as JSON. Send Content-Type:
	// application/json.
	ErrUnsupportedMediaType = apperr.New(apperr.KindUnsupportedMediaType, "http.unsupported_media_type", "the body must be application/json")
	// ErrBodyTooLarge means the request body is over the limit of 1 MiB.
	ErrBodyTooLarge = apperr.New(apperr.KindTooLarge, "http.body_too_large", "the body is too large")
	// ErrEmptyBody means the route needs a JSON body and the request had none.
	ErrEmptyBody = apperr.New(apperr.KindInvalid, "http.empty_body", "the body is empty")
	// ErrUnreadableBody means the request body could not be read to its end, for instance because the
	// client closed the connection.
	ErrUnreadableBody = apperr.New(apperr.KindInvalid, "http.unreadable_body", "the body could not be read")
	// ErrMalformedJSON means the request body is not valid JSON (or not valid UTF-8); the detail says
	// where it breaks.
	ErrMalformedJSON = apperr.New(apperr.KindInvalid, "http.malformed_json", "the body is not valid JSON")
	// ErrInvalidJSON means a value in the body has the wrong type, for example a string where a
	// number is expected, or null; the detail names the field.
	ErrInvalidJSON = apperr.New(apperr.KindInvalid, "http.invalid_json", "the body has a value of the wrong type")
	// ErrUnknownField means the body has a field the route does not take; a typo is the usual cause.
	// The detail names it.
	ErrUnknownField = apperr.New(apperr.KindInvalid, "http.unknown_field", "the body has an unknown field")
	// ErrTrailingData means the body holds more data after its JSON value; send one value.
	ErrTrailingData = apperr.New(apperr.KindInvalid, "http.trailing_data", "the body has data after the JSON value")
	// ErrInvalidID means an ID in the path is not a UUID in its canonical 36-character form.
	ErrInvalidID = apperr.New(apperr.KindInvalid, "http.invalid_id", "the id in the path is not a valid UUID")
	// ErrInvalidQuery means a query parameter is not valid; the detail names it.
	ErrInvalidQuery = apperr.New(apperr.KindInvalid, "http.invalid_query", "a query parameter is invalid")
	// ErrTimeout means the request took longer than the server allows; retry later.
	ErrTimeout = apperr.New(apperr.KindTimeout, "http.timeout", "the request took too long")
)

// statusClientClosedRequest is nginx's non-standard status for a client that
// left before the answer; it only shows in access logs and metrics.
const statusClientClosedRequest = 499

// WriteError answers err as a problem carrying the request's correlation ID.
// Errors that become 5xx are logged at Error with the real cause; 4xx are the
// client's business and are not logged. An internal error caused by the
// request deadline becomes 504 http.timeout. When the client has gone away
// (its context is canceled) nothing useful can be sent: the event is logged
// at Debug and only the status 499 is written, for the access log.
// log may be nil.
func WriteError(w http.ResponseWriter, r *http.Request, log *zap.Logger, err error) {
	if log == nil {
		log = zap.NewNop()
	}
	ctx := r.Context()
	id := correlation.ID(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		log.Debug("client went away", zap.Error(err), zap.String("correlation_id", id))
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	p := problemFor(ctx, err)
	if p.Status >= 500 {
		log.Error("request failed", zap.Error(err), zap.Int("status", p.Status), zap.String("code", p.Code),
			zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("correlation_id", id))
	}
	problem.Write(w, p, id)
}

func problemFor(ctx context.Context, err error) problem.Problem {
	if apperr.KindOf(err) == apperr.KindInternal &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		err = ErrTimeout.Wrap(err)
	}
	return problem.From(err)
}

// WriteJSON answers v as JSON with status. v is marshalled before anything
// is written, so a value that cannot be encoded becomes a clean 500 problem
// instead of a half-written body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		problem.Write(w, problem.From(err), "")
		return
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
