package telemetry

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// switchProvider is the global TracerProvider: it forwards every span start
// to the provider installed last. otel's own global delegate can be set only
// once, which would leave the tracers of a second application in the same
// test binary pointing at the first one's provider, shut down.
type switchProvider struct {
	embedded.TracerProvider
	current atomic.Pointer[providerBox]
}

type providerBox struct{ trace.TracerProvider }

func (p *switchProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return &switchTracer{p: p, name: name, opts: opts}
}

type switchTracer struct {
	embedded.Tracer
	p      *switchProvider
	name   string
	opts   []trace.TracerOption
	cached atomic.Pointer[boundTracer] // the tracer of the provider installed when last used
}

type boundTracer struct {
	box *providerBox
	trace.Tracer
}

func (t *switchTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	box := t.p.current.Load()
	if box == nil { // nothing installed yet: no tracing
		return noopTracer.Start(ctx, name, opts...)
	}
	bound := t.cached.Load()
	if bound == nil || bound.box != box {
		bound = &boundTracer{box: box, Tracer: box.Tracer(t.name, t.opts...)}
		t.cached.Store(bound)
	}
	return bound.Start(ctx, name, opts...)
}

var (
	global     = &switchProvider{}
	installMu  sync.Mutex
	installOne sync.Once
)

// propagator is W3C trace context plus baggage, the only format this system
// speaks on HTTP headers, envelopes and message metadata.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

var (
	noopProvider = noop.NewTracerProvider()
	noopTracer   = noopProvider.Tracer("")
)

// install makes p the provider behind the global one and returns a function
// that switches back to no-op tracing, unless another provider was installed
// since.
func install(p trace.TracerProvider) (uninstall func()) {
	installOne.Do(func() {
		otel.SetTracerProvider(global)
		otel.SetTextMapPropagator(propagator)
	})
	installMu.Lock()
	defer installMu.Unlock()
	box := &providerBox{p}
	global.current.Store(box)
	return func() {
		installMu.Lock()
		defer installMu.Unlock()
		global.current.CompareAndSwap(box, nil)
	}
}

// Tracer returns the tracer of the instrumentation scope name (e.g.
// "github.com/modmono/shop/platform/bus"), through the global provider. It
// follows the provider installed at each span start: keep it in a variable.
func Tracer(name string) trace.Tracer { return global.Tracer(name) }

// Provider returns the global provider, for instrumentation that takes one.
func Provider() trace.TracerProvider { return global }
