// Package telemetry gives a process its OpenTelemetry tracing: the
// TracerProvider, the W3C trace-context propagation, and a bounded in-memory
// Recorder of recent traces that the console reads without any exporter.
//
// Configuration is the SDK's own: the standard OTEL_* variables
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and
// _ARG, OTEL_SDK_DISABLED, OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT and the
// exporter's other settings). An OTLP/HTTP exporter (batched) runs only when
// an endpoint is set; the Recorder always does.
//
// Instrumented code never holds a provider: it asks the global one
// (otel.Tracer) at the time it starts a span. The global is a switch that
// New points at the process's SDK provider, so a test binary that starts
// and stops several applications one after the other traces each of them;
// instrumentation that caches a tracer at construction (otelhttp, otelpgx)
// keeps working for the same reason.
//
// Every span carries the attribute "module": the module whose code runs, or
// "gateway" for HTTP work outside any module. LogFields gives the trace_id
// and span_id fields for a log line written in a span's context.
package telemetry
