package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Config chooses what New sets up. The SDK reads the rest of the OTEL_*
// variables (resource attributes, sampler, the exporter's settings) itself.
type Config struct {
	// Disabled (OTEL_SDK_DISABLED=true) turns tracing off: spans are no-ops
	// and nothing is recorded.
	Disabled bool
	// ServiceName is the default service.name; OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES override it.
	ServiceName string
	// Export sends spans over OTLP/HTTP (batched) to the endpoint of the
	// OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT variables. Default: no exporter.
	Export bool
	// MaxTraces and MaxSpans bound the Recorder; defaults DefaultMaxTraces
	// and DefaultMaxSpans.
	MaxTraces, MaxSpans int
}

// ServiceName is the default service.name of a process running modules:
// "shop-<m1>+<m2>…", or "shop-gateway" for a process with none.
func ServiceName(modules []string) string {
	if len(modules) == 0 {
		return "shop-" + Gateway
	}
	return "shop-" + strings.Join(modules, "+")
}

// Telemetry is a process's tracing: the SDK provider, installed as the
// global one, and the Recorder of recent traces.
type Telemetry struct {
	Recorder *Recorder

	provider  *sdktrace.TracerProvider // nil when disabled
	uninstall func()
}

// New builds the process's tracing and installs it as the global provider
// and propagator. extra span processors (a test's in-memory exporter) see
// every span too. Call Shutdown when the process stops.
func New(ctx context.Context, cfg Config, extra []sdktrace.SpanProcessor, log *zap.Logger) (*Telemetry, error) {
	if log == nil {
		log = zap.NewNop()
	}
	t := &Telemetry{Recorder: NewRecorder(cfg.MaxTraces, cfg.MaxSpans)}
	if cfg.Disabled {
		t.uninstall = install(noopProvider)
		log.Info("tracing is disabled (OTEL_SDK_DISABLED)")
		return t, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", cfg.ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: last, so they win
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(t.Recorder)}
	for _, p := range extra {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	if cfg.Export {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
		log.Info("exporting traces over OTLP/HTTP")
	}
	// The sampler is the SDK's default (parentbased_always_on) unless
	// OTEL_TRACES_SAMPLER says otherwise: the SDK reads it.
	t.provider = sdktrace.NewTracerProvider(opts...)
	t.uninstall = install(t.provider)
	return t, nil
}

// Shutdown flushes the exporter (within ctx) and stops tracing.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.uninstall()
	if t.provider == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("telemetry: flush spans: %w", err)
	}
	return nil
}

// Processors gathers the extra span processors given to the fx graph in
// the value group "telemetry.processors" (tests give an in-memory exporter).
type Processors struct {
	fx.In
	List []sdktrace.SpanProcessor `group:"telemetry.processors"`
}

// Provide returns the fx constructor of the process's Telemetry for cfg:
// installed when built, flushed and shut down when the application stops
// (within fx's stop deadline).
func Provide(cfg Config) func(lc fx.Lifecycle, p Processors, log *zap.Logger) (*Telemetry, error) {
	return func(lc fx.Lifecycle, p Processors, log *zap.Logger) (*Telemetry, error) {
		t, err := New(context.Background(), cfg, p.List, log.Named("telemetry"))
		if err != nil {
			return nil, err
		}
		lc.Append(fx.StopHook(t.Shutdown))
		return t, nil
	}
}

// AddProcessor gives the application an extra span processor (see Processors).
func AddProcessor(p sdktrace.SpanProcessor) fx.Option {
	return fx.Provide(fx.Annotate(func() sdktrace.SpanProcessor { return p }, fx.ResultTags(`group:"telemetry.processors"`)))
}
