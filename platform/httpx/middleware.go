package httpx

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/problem"
	"github.com/modmono/shop/platform/telemetry"
)

// Correlation puts the request's correlation ID in its context and echoes it
// in the X-Correlation-ID response header. The caller's ID is kept when
// correlation.Valid accepts it, so one conversation keeps one ID across
// services; otherwise a new UUID is used. The trace context travels apart,
// through the OpenTelemetry propagator (see Trace).
func Correlation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(correlation.Header)
		if !correlation.Valid(id) {
			id = uuid.NewString()
		}
		ctx := correlation.With(r.Context(), id)
		w.Header().Set(correlation.Header, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// errPanic stands in for a recovered panic: its text is for no one, and as a
// non-apperr error it becomes the generic internal problem.
var errPanic = errors.New("panic")

// Recover turns a panic into a 500 problem and logs the panic value with its
// stack and the correlation ID. http.ErrAbortHandler is re-panicked, as
// net/http expects. If the response had already started, a problem cannot be
// sent any more, so the connection is aborted to tell the client the answer
// is broken rather than let it look complete. logger may be nil.
func Recover(logger *zap.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler { // net/http compares it the same way
					panic(p)
				}
				id := correlation.ID(r.Context())
				logger.Error("panic serving request", append(telemetry.LogFields(r.Context()), zap.Any("panic", p), zap.Stack("stack"),
					zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("correlation_id", id))...)
				if ww.Status() != 0 {
					panic(http.ErrAbortHandler)
				}
				problem.Write(ww, problem.From(errPanic), id)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// AccessLog writes one log line per request once it is answered: method,
// path, route pattern, status, bytes, duration_ms, correlation_id, remote,
// and the trace_id and span_id of the request's span. Health and /metrics requests are
// logged at Debug so probes and scrapes do not drown the rest, others at
// Info, and any 5xx at Error. logger may be nil.
func AccessLog(logger *zap.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r = trackRoute(r)
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)

			status := statusOf(ww)
			level := zapcore.InfoLevel
			switch {
			case status >= 500:
				level = zapcore.ErrorLevel
			case isOpsPath(r.URL.Path):
				level = zapcore.DebugLevel
			}
			ce := logger.Check(level, "request")
			if ce == nil {
				return
			}
			fields := []zap.Field{
				zap.String("method", r.Method),
				zap.String("path", r.URL.Path),
				zap.String("route", routeOf(r)),
				zap.Int("status", status),
				zap.Int("bytes", ww.BytesWritten()),
				zap.Float64("duration_ms", float64(time.Since(start))/float64(time.Millisecond)),
				zap.String("correlation_id", correlation.ID(r.Context())),
				zap.String("remote", r.RemoteAddr),
			}
			ce.Write(append(fields, telemetry.LogFields(r.Context())...)...)
		})
	}
}

func isOpsPath(p string) bool { return strings.HasPrefix(p, "/health/") || p == "/metrics" }

// statusOf is the status the client got: a handler that wrote nothing sent 200.
func statusOf(ww middleware.WrapResponseWriter) int {
	if s := ww.Status(); s != 0 {
		return s
	}
	return http.StatusOK
}

// metrics holds the RED collectors; one is made per router.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// Metrics counts requests and observes their duration per method, route
// pattern and status: http_requests_total{method,route,status} and
// http_request_duration_seconds{method,route}. The route is chi's pattern
// (/products/{id}), never the raw path, so IDs do not explode cardinality;
// requests no route matched are "unmatched", and unknown methods "OTHER".
// The collectors are registered on reg, reusing ones already registered
// there; any other registration conflict is a wiring bug and panics. A nil
// reg disables the middleware.
func Metrics(reg prometheus.Registerer) func(http.Handler) http.Handler {
	if reg == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	m := &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"})),
	}
	return m.middleware
}

func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = trackRoute(r)
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)

		method, route := methodLabel(r.Method), routeOf(r)
		m.requests.WithLabelValues(method, route, strconv.Itoa(statusOf(ww))).Inc()
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	})
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("httpx: registering metrics: " + err.Error())
}

// methodLabel keeps the label set closed: a client can send any method name.
func methodLabel(m string) string {
	for _, known := range routingMethods {
		if m == known {
			return m
		}
	}
	return "OTHER"
}

// routeState lets the not-found handler, deep inside chi, tell the
// middlewares around it that no route matched: a mounted sub-router leaves
// a pattern like "/api/*" behind even when nothing under it matched.
type routeState struct{ unmatched bool }

type routeStateKey struct{}

// trackRoute returns r carrying a routeState, reusing one an outer middleware
// already added so that both see the same mark.
func trackRoute(r *http.Request) *http.Request {
	if _, ok := r.Context().Value(routeStateKey{}).(*routeState); ok {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), routeStateKey{}, &routeState{}))
}

func markUnmatched(r *http.Request) {
	if s, ok := r.Context().Value(routeStateKey{}).(*routeState); ok {
		s.unmatched = true
	}
}

// routeOf is the chi pattern that served r, read after routing.
func routeOf(r *http.Request) string {
	if s, ok := r.Context().Value(routeStateKey{}).(*routeState); ok && s.unmatched {
		return "unmatched"
	}
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if p := rctx.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

type bodyLimitKey struct{}

// LimitBody caps the request body at max bytes (DefaultMaxBodyBytes when max
// is not positive); reading past it fails with *http.MaxBytesError, which
// DecodeJSON answers with 413. The limit is also recorded in the context, so
// DecodeJSON applies the same one and its own default only when LimitBody
// is not in use.
func LimitBody(max int64) func(http.Handler) http.Handler {
	if max <= 0 {
		max = DefaultMaxBodyBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, max))
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// BodyLimit returns the body limit in force for a request's context.
func BodyLimit(ctx context.Context) int64 { return bodyLimit(ctx) }

func bodyLimit(ctx context.Context) int64 {
	if n, ok := ctx.Value(bodyLimitKey{}).(int64); ok {
		return n
	}
	return DefaultMaxBodyBytes
}

// Timeout puts a deadline d on the request's context so that database and
// remote calls made for it stop in time. It writes nothing itself (unlike
// chi's middleware.Timeout, which answers 504 behind the handler's back):
// the handler's call fails and WriteError answers 504 http.timeout. A d that
// is not positive sets no deadline.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), undeadlinedKey{}, r.Context()), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

type undeadlinedKey struct{}

// StreamContext returns r's context without the deadline Timeout put on it,
// still ended when the client goes away: for a response that streams for as
// long as the client listens (server-sent events), which bounds itself.
func StreamContext(r *http.Request) context.Context {
	if ctx, ok := r.Context().Value(undeadlinedKey{}).(context.Context); ok {
		return ctx
	}
	return r.Context()
}
