package httpx

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/modmono/shop/platform/telemetry"
)

// Trace starts the server span of every request of the APIs (see traced),
// continuing the caller's trace from its traceparent
// header. The span is named by method and chi route pattern ("POST
// /api/v1/orders"), never by the raw path, so IDs do not explode the number
// of span names; the pattern is known only once the request was routed, so
// the span is renamed when the handler returns. Its module is the module
// whose API /internal/<module>/… serves, or "gateway".
func Trace(next http.Handler) http.Handler {
	named := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = trackRoute(r)
		next.ServeHTTP(w, r)
		route := routeOf(r)
		span := trace.SpanFromContext(r.Context())
		span.SetName(methodLabel(r.Method) + " " + route)
		span.SetAttributes(attribute.String("http.route", route), telemetry.Module(moduleOf(r.URL.Path)))
	})
	return otelhttp.NewHandler(named, "http",
		otelhttp.WithFilter(traced),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return methodLabel(r.Method) }),
	)
}

// traced reports whether a request gets a span. Probes, scrapes, the web
// UI's static files and the admin views' reads do not: the console reads
// those views every few seconds, and its own requests would push the
// traces it is there to show out of the recorder.
func traced(r *http.Request) bool {
	p := r.URL.Path
	if isOpsPath(p) {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return true
	}
	switch {
	case strings.HasPrefix(p, "/api/v1/admin/"), strings.HasPrefix(p, "/internal/admin/"):
		return false
	case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/bff/"), strings.HasPrefix(p, "/internal/"):
		return true
	}
	return false // the UI's pages and files, problem pages
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
