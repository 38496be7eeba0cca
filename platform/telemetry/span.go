package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// ModuleKey is the attribute every span carries: the module whose code runs.
const ModuleKey = attribute.Key("module")

// Gateway is the module attribute of HTTP work outside any module.
const Gateway = "gateway"

// Module returns the module attribute for name.
func Module(name string) attribute.KeyValue { return ModuleKey.String(name) }

// TraceparentHeader is the W3C Trace Context header (and message metadata key).
const TraceparentHeader = "traceparent"

// Traceparent returns the W3C traceparent of the span in ctx, or "" when
// ctx has no valid span context.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := traceparentCarrier{}
	propagation.TraceContext{}.Inject(ctx, &c)
	return c.value
}

// WithTraceparent returns ctx with the remote span context of traceparent tp
// as the parent of the spans started in it. An invalid tp leaves ctx as it is.
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, &traceparentCarrier{value: tp})
}

// traceparentCarrier carries the traceparent alone, without the map a
// MapCarrier allocates; tracestate is not kept in envelopes.
type traceparentCarrier struct{ value string }

func (c *traceparentCarrier) Get(key string) string {
	if key == TraceparentHeader {
		return c.value
	}
	return ""
}

func (c *traceparentCarrier) Set(key, value string) {
	if key == TraceparentHeader {
		c.value = value
	}
}

func (c *traceparentCarrier) Keys() []string { return []string{TraceparentHeader} }

// End records err on span (status error with its message) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

type servedKey struct{}

// apiTracer traces module API calls.
var apiTracer = Tracer("github.com/modmono/shop/platform/telemetry/api")

// StartCall starts the span of a call of module's API method in this
// process, "<module>.<Method>". A call that platform/rpc's server is already
// serving (StartServed) gets no second span: the same call would show twice.
func StartCall(ctx context.Context, module, method string) (context.Context, trace.Span) {
	if s, ok := ctx.Value(servedKey{}).(served); ok && s.module == module && s.method == method {
		return context.WithValue(ctx, servedKey{}, nil), noopSpan
	}
	return apiTracer.Start(ctx, module+"."+method,
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(Module(module)))
}

// StartServed starts the server span of a call of module's API method that
// came over HTTP, "<module>.<Method>".
func StartServed(ctx context.Context, module, method string) (context.Context, trace.Span) {
	ctx, span := apiTracer.Start(ctx, module+"."+method,
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(Module(module)))
	return context.WithValue(ctx, servedKey{}, served{module, method}), span
}

// StartRemote starts the client span of a call of module's API method made
// over HTTP to another process, "<module>.<Method>". Its module attribute is
// the called module: the span stands for that module's work as seen here.
func StartRemote(ctx context.Context, module, method string) (context.Context, trace.Span) {
	return apiTracer.Start(ctx, module+"."+method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(Module(module), attribute.Bool("remote", true)))
}

type served struct{ module, method string }

var noopSpan = trace.SpanFromContext(context.Background())

// LogFields returns the trace_id and span_id fields of the span in ctx, or
// none, for a log line written in that span's context.
func LogFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String())}
}

// Logger returns log with the trace_id and span_id of the span in ctx.
func Logger(ctx context.Context, log *zap.Logger) *zap.Logger {
	if f := LogFields(ctx); f != nil {
		return log.With(f...)
	}
	return log
}
