// Package problem writes and reads RFC 9457 problem details
// (application/problem+json). Every error a handler returns goes through
// Write, which maps the apperr.Kind to an HTTP status and never shows the
// details of an internal error to the client.
package problem

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/modmono/shop/platform/apperr"
)

// ContentType is the media type of a problem response.
const ContentType = "application/problem+json"

// TypePrefix is prepended to an error code to form the problem's type URI.
const TypePrefix = "/problems/"

// Problem is the RFC 9457 body, with the stable code and the correlation ID as extensions.
type Problem struct {
	Type          string              `json:"type"`
	Title         string              `json:"title"`
	Status        int                 `json:"status"`
	Detail        string              `json:"detail,omitempty"`
	Instance      string              `json:"instance,omitempty"`
	Code          string              `json:"code"`
	Kind          string              `json:"kind,omitempty"`
	CorrelationID string              `json:"correlation_id,omitempty"`
	Errors        []apperr.FieldError `json:"errors,omitempty"`
}

var statusByKind = map[apperr.Kind]int{
	apperr.KindInternal:             http.StatusInternalServerError,
	apperr.KindInvalid:              http.StatusBadRequest,
	apperr.KindUnauthenticated:      http.StatusUnauthorized,
	apperr.KindForbidden:            http.StatusForbidden,
	apperr.KindNotFound:             http.StatusNotFound,
	apperr.KindConflict:             http.StatusConflict,
	apperr.KindUnprocessable:        http.StatusUnprocessableEntity,
	apperr.KindTooManyRequests:      http.StatusTooManyRequests,
	apperr.KindUnavailable:          http.StatusServiceUnavailable,
	apperr.KindTimeout:              http.StatusGatewayTimeout,
	apperr.KindMethodNotAllowed:     http.StatusMethodNotAllowed,
	apperr.KindTooLarge:             http.StatusRequestEntityTooLarge,
	apperr.KindUnsupportedMediaType: http.StatusUnsupportedMediaType,
}

// Status returns the HTTP status for kind.
func Status(kind apperr.Kind) int {
	if s, ok := statusByKind[kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// KindForStatus is the inverse of Status, used when rebuilding an error from a response.
func KindForStatus(status int) apperr.Kind {
	for k, s := range statusByKind {
		if s == status {
			return k
		}
	}
	if status >= 400 && status < 500 {
		return apperr.KindInvalid
	}
	return apperr.KindInternal
}

// Internal means something failed inside the shop that the client cannot
// fix: a bug, or a dependency failing in a way no other code describes. It
// is the code of every error that is not an *apperr.Error, and of those of
// KindInternal. The details are never in the answer; they are in the
// server's log under the answer's correlation_id. Retry later, and report
// the correlation_id if it keeps happening.
const Internal = "internal"

// From builds the problem for err. An error without an *apperr.Error in its
// chain is internal: its text is not revealed.
func From(err error) Problem {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind == apperr.KindInternal {
		return Problem{Type: TypePrefix + Internal, Title: http.StatusText(500), Status: 500,
			Detail: "an unexpected error occurred", Code: Internal, Kind: apperr.KindInternal.String()}
	}
	st := Status(e.Kind)
	return Problem{Type: TypePrefix + e.Code, Title: http.StatusText(st), Status: st,
		Detail: e.Message, Code: e.Code, Kind: e.Kind.String(), Errors: e.Fields}
}

// Write sends p. correlationID, when not empty, is echoed in the body.
func Write(w http.ResponseWriter, p Problem, correlationID string) {
	p.CorrelationID = correlationID
	body, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// Err rebuilds the *apperr.Error that p describes, so a not-found stays a
// not-found after crossing the wire.
func (p Problem) Err() *apperr.Error {
	kind := apperr.ParseKind(p.Kind)
	if p.Kind == "" {
		kind = KindForStatus(p.Status)
	}
	return &apperr.Error{Kind: kind, Code: p.Code, Message: p.Detail, Fields: p.Errors}
}
