package admin

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/rpc"
	"github.com/modmono/shop/platform/telemetry"
)

// Traces is the answer of GET /api/v1/admin/traces: the recent traces of
// every process, the spans of one trace from all of them joined.
type Traces struct {
	Items       []telemetry.Trace `json:"items"` // newest first
	NextCursor  *string           `json:"next_cursor"`
	Unavailable []string          `json:"unavailable"` // modules whose process did not answer: their spans are missing
}

// ErrTraceNotFound means no process of the deployment still holds the trace asked for. Each
// process keeps only its most recent traces in memory, and none across a restart: export them with
// OTEL_EXPORTER_OTLP_ENDPOINT to keep them.
var ErrTraceNotFound = apperr.New(apperr.KindNotFound, "admin.trace_not_found",
	"no process holds this trace any more")

// ErrInvalidTraceID means the trace ID in the path is not 32 hexadecimal digits, as W3C trace
// context writes it.
var ErrInvalidTraceID = apperr.New(apperr.KindInvalid, "admin.invalid_trace_id",
	"a trace ID is 32 hexadecimal digits")

func (s *Service) getLocalTraces(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.QueryInt(r, "limit", 20, 1, telemetry.DefaultMaxTraces)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Traces{Items: s.traces.Traces(limit), Unavailable: []string{}})
	return nil
}

func (s *Service) getTraces(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.QueryInt(r, "limit", 20, 1, telemetry.DefaultMaxTraces)
	if err != nil {
		return err
	}
	answers := rpc.Gather[Traces](r.Context(), s.remotes, "/admin/traces?limit="+strconv.Itoa(limit), gatherTimeout)
	parts := [][]telemetry.Trace{s.traces.Traces(limit)}
	for _, a := range answers {
		parts = append(parts, a.Value.Items)
	}
	httpx.WriteJSON(w, http.StatusOK, Traces{Items: telemetry.Merge(limit, parts...), Unavailable: nonNil(rpc.Failed(answers))})
	return nil
}

func (s *Service) getLocalTrace(w http.ResponseWriter, r *http.Request) error {
	t, ok := s.traces.Trace(chi.URLParam(r, "trace_id"))
	if !ok {
		return ErrTraceNotFound
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

// getTrace answers one trace, joined from every process that holds spans of it.
func (s *Service) getTrace(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "trace_id")
	if !validTraceID(id) {
		return ErrInvalidTraceID
	}
	var parts [][]telemetry.Trace
	if t, ok := s.traces.Trace(id); ok {
		parts = append(parts, []telemetry.Trace{t})
	}
	for _, a := range rpc.Gather[telemetry.Trace](r.Context(), s.remotes, "/admin/traces/"+id, gatherTimeout) {
		if a.Err == nil {
			parts = append(parts, []telemetry.Trace{a.Value})
		}
	}
	merged := telemetry.Merge(1, parts...)
	if len(merged) == 0 {
		return ErrTraceNotFound
	}
	httpx.WriteJSON(w, http.StatusOK, merged[0])
	return nil
}

func validTraceID(id string) bool {
	if len(id) != 32 || id == "00000000000000000000000000000000" {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
