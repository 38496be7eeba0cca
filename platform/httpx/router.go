package httpx

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// DefaultMaxBodyBytes is the body limit used when none is configured (1 MiB).
const DefaultMaxBodyBytes int64 = 1 << 20

// DefaultRequestTimeout is the request deadline used when none is configured.
const DefaultRequestTimeout = 10 * time.Second

// Options configures NewRouter. The zero value is usable.
type Options struct {
	// Logger receives access logs, panics and internal errors. Default: no logging.
	Logger *zap.Logger
	// Registerer receives the RED metrics. Default: no metrics.
	Registerer prometheus.Registerer
	// MaxBodyBytes caps every request body. Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RequestTimeout is the deadline put on every request's context. Default: DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Untraced reports the requests that get no span, besides health probes
	// and metrics scrapes (which never do). Default: none.
	Untraced func(*http.Request) bool
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
}

// NewRouter returns a chi router with the platform middlewares installed,
// outermost first: Trace, Correlation, AccessLog, Metrics, Recover, LimitBody and
// Timeout. Recover sits inside AccessLog and Metrics so that a panic is logged
// and counted as the 500 it becomes. Unknown paths and methods are answered
// with problems (http.not_found, http.method_not_allowed), also in mounted
// sub-routers, which chi gives the same handlers.
//
// NewRouter registers its metrics on o.Registerer; building a second router
// on the same registry reuses the collectors instead of panicking.
func NewRouter(o Options) chi.Router {
	o.setDefaults()
	r := chi.NewRouter()
	r.Use(
		traceExcept(o.Untraced),
		Correlation,
		AccessLog(o.Logger),
		Metrics(o.Registerer),
		Recover(o.Logger),
		LimitBody(o.MaxBodyBytes),
		Timeout(o.RequestTimeout),
	)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	return r
}

func notFound(w http.ResponseWriter, r *http.Request) {
	markUnmatched(r)
	WriteError(w, r, nil, ErrNotFound)
}

// routingMethods are the methods chi routes, in the order Allow lists them.
var routingMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace}

// methodNotAllowed answers 405 with an Allow header. chi computes the allowed
// methods but hands them only to its own default handler, so they are found
// again by asking the root router which methods match the path.
func methodNotAllowed(root chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		var allowed []string
		for _, m := range routingMethods {
			if root.Match(chi.NewRouteContext(), m, path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		WriteError(w, r, nil, ErrMethodNotAllowed)
	}
}
