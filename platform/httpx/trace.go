package httpx

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/modmono/shop/platform/telemetry"
)

// Trace starts the server span of every request but the health probes and
// metrics scrapes, continuing the caller's trace from its traceparent
// header. The span is named by method and chi route pattern ("POST
// /api/v1/orders"), never by the raw path, so IDs do not explode the number
// of span names; the pattern is known only once the request was routed, so
// the span is renamed when the handler returns. Its module is the module
// whose API /internal/<module>/… serves, or "gateway".
func Trace(next http.Handler) http.Handler { return traceExcept(nil)(next) }

// traceExcept is Trace, but requests untraced reports true for get no span
// either (nil: none).
func traceExcept(untraced func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return traced(next, untraced) }
}

func traced(next http.Handler, untraced func(*http.Request) bool) http.Handler {
	named := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = trackRoute(r)
		next.ServeHTTP(w, r)
		route := routeOf(r)
		span := trace.SpanFromContext(r.Context())
		span.SetName(methodLabel(r.Method) + " " + route)
		span.SetAttributes(attribute.String("http.route", route), telemetry.Module(moduleOf(r.URL.Path)))
	})
	return otelhttp.NewHandler(named, "http",
		otelhttp.WithFilter(func(r *http.Request) bool {
			return !isOpsPath(r.URL.Path) && (untraced == nil || !untraced(r))
		}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return methodLabel(r.Method) }),
	)
}

// moduleOf is the module that serves path: /internal/<module>/<Method>.
func moduleOf(path string) string {
	if rest, ok := strings.CutPrefix(path, "/internal/"); ok {
		if m, _, ok := strings.Cut(rest, "/"); ok && m != "" {
			return m
		}
	}
	return telemetry.Gateway
}
