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
	ErrNotFound             = apperr.New(apperr.KindNotFound, "http.not_found", "no resource at this path")
	ErrMethodNotAllowed     = apperr.New(apperr.KindMethodNotAllowed, "http.method_not_allowed", "the method is not allowed on this path")
	ErrUnsupportedMediaType = apperr.New(apperr.KindUnsupportedMediaType, "http.unsupported_media_type", "the body must be application/json")
	ErrBodyTooLarge         = apperr.New(apperr.KindTooLarge, "http.body_too_large", "the body is too large")
	ErrEmptyBody            = apperr.New(apperr.KindInvalid, "http.empty_body", "the body is empty")
	ErrUnreadableBody       = apperr.New(apperr.KindInvalid, "http.unreadable_body", "the body could not be read")
	ErrMalformedJSON        = apperr.New(apperr.KindInvalid, "http.malformed_json", "the body is not valid JSON")
	ErrInvalidJSON          = apperr.New(apperr.KindInvalid, "http.invalid_json", "the body has a value of the wrong type")
	ErrUnknownField         = apperr.New(apperr.KindInvalid, "http.unknown_field", "the body has an unknown field")
	ErrTrailingData         = apperr.New(apperr.KindInvalid, "http.trailing_data", "the body has data after the JSON value")
	ErrInvalidID            = apperr.New(apperr.KindInvalid, "http.invalid_id", "the id in the path is not a valid UUID")
	ErrInvalidQuery         = apperr.New(apperr.KindInvalid, "http.invalid_query", "a query parameter is invalid")
	ErrTimeout              = apperr.New(apperr.KindTimeout, "http.timeout", "the request took too long")
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
