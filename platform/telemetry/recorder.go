package telemetry

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Default bounds of a Recorder.
const (
	DefaultMaxTraces = 200
	DefaultMaxSpans  = 5000
)

// Trace is one recorded trace, as the console shows it.
type Trace struct {
	TraceID    string    `json:"trace_id"`
	Root       string    `json:"root"` // name of the root span, or of the earliest one when the root ran elsewhere
	Start      time.Time `json:"start"`
	DurationMS float64   `json:"duration_ms"`
	Modules    []string  `json:"modules"`
	Spans      []Span    `json:"spans"`
}

// Span is one finished span of a recorded trace.
type Span struct {
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"`
	ParentSpanID string            `json:"parent_span_id"`
	Name         string            `json:"name"`
	Module       string            `json:"module"`
	Process      string            `json:"process"` // service.name
	Kind         string            `json:"kind"`
	Start        time.Time         `json:"start"`
	DurationMS   float64           `json:"duration_ms"`
	Status       string            `json:"status"` // "ok" or "error"
	Error        string            `json:"error,omitempty"`
	Attributes   map[string]string `json:"attributes"`
}

// Recorder is a SpanProcessor that keeps the most recent traces in memory:
// at most maxTraces traces and maxSpans spans in all, the oldest trace
// evicted first. Recording a span is O(1) (amortised over evictions) under
// a short lock, with no I/O: tracing never waits for the console. It is
// safe for concurrent use.
type Recorder struct {
	maxTraces, maxSpans int

	mu     sync.Mutex
	traces map[trace.TraceID]*recorded
	ring   []trace.TraceID // the traces held in arrival order, oldest at head
	head   int
	held   int    // traces in ring
	spans  int    // spans held in all
	seq    uint64 // arrivals so far
}

type recorded struct {
	seq   uint64 // arrival order, for newest first
	spans []sdktrace.ReadOnlySpan
}

var _ sdktrace.SpanProcessor = (*Recorder)(nil)

// NewRecorder returns a recorder holding at most maxTraces traces and
// maxSpans spans (defaults for values below 1).
func NewRecorder(maxTraces, maxSpans int) *Recorder {
	if maxTraces < 1 {
		maxTraces = DefaultMaxTraces
	}
	if maxSpans < 1 {
		maxSpans = DefaultMaxSpans
	}
	return &Recorder{maxTraces: maxTraces, maxSpans: maxSpans,
		traces: make(map[trace.TraceID]*recorded, maxTraces), ring: make([]trace.TraceID, maxTraces)}
}

// OnStart does nothing: only finished spans are kept.
func (r *Recorder) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd keeps s. The SDK's ReadOnlySpan is an immutable snapshot, so it is
// kept as it is and turned into a Span only when read.
func (r *Recorder) OnEnd(s sdktrace.ReadOnlySpan) {
	id := s.SpanContext().TraceID()
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.traces[id]
	if !ok {
		if r.held == r.maxTraces {
			r.evictOldest()
		}
		r.seq++
		t = &recorded{seq: r.seq}
		r.traces[id] = t
		r.ring[(r.head+r.held)%r.maxTraces] = id
		r.held++
	}
	t.spans = append(t.spans, s)
	r.spans++
	for r.spans > r.maxSpans {
		if r.held == 1 {
			// One trace bigger than the whole budget keeps its newest
			// spans. A quarter of the budget goes at once, so that the
			// copy is paid once per many spans rather than at each.
			drop := min(r.spans-r.maxSpans+r.maxSpans/4, len(t.spans))
			t.spans = slices.Delete(t.spans, 0, drop)
			r.spans -= drop
			break
		}
		r.evictOldest()
	}
}

func (r *Recorder) evictOldest() {
	id := r.ring[r.head]
	r.spans -= len(r.traces[id].spans)
	delete(r.traces, id)
	r.head = (r.head + 1) % r.maxTraces
	r.held--
}

// Shutdown does nothing: there is nothing to flush.
func (r *Recorder) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: spans are recorded as they end.
func (r *Recorder) ForceFlush(context.Context) error { return nil }

// Traces returns up to limit recorded traces (all when limit < 1), newest
// first.
func (r *Recorder) Traces(limit int) []Trace {
	r.mu.Lock()
	picked := make([]*recorded, 0, r.held)
	for _, t := range r.traces {
		picked = append(picked, &recorded{seq: t.seq, spans: slices.Clone(t.spans)})
	}
	r.mu.Unlock()
	slices.SortFunc(picked, func(a, b *recorded) int { return compareUint(b.seq, a.seq) })
	if limit > 0 && len(picked) > limit {
		picked = picked[:limit]
	}
	out := make([]Trace, 0, len(picked))
	for _, t := range picked {
		out = append(out, build(t.spans))
	}
	return out
}

// Trace returns the recorded trace with the hex trace ID id.
func (r *Recorder) Trace(id string) (Trace, bool) {
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return Trace{}, false
	}
	r.mu.Lock()
	t, ok := r.traces[tid]
	var spans []sdktrace.ReadOnlySpan
	if ok {
		spans = slices.Clone(t.spans)
	}
	r.mu.Unlock()
	if !ok {
		return Trace{}, false
	}
	return build(spans), true
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// build turns a trace's spans into a Trace, its spans in start order.
func build(ro []sdktrace.ReadOnlySpan) Trace {
	spans := make([]Span, 0, len(ro))
	var start, end time.Time
	root, rootStart := "", time.Time{}
	modules := []string{}
	for _, s := range ro {
		span := convert(s)
		spans = append(spans, span)
		if start.IsZero() || s.StartTime().Before(start) {
			start = s.StartTime()
		}
		if s.EndTime().After(end) {
			end = s.EndTime()
		}
		if !s.Parent().IsValid() && (root == "" || s.StartTime().Before(rootStart)) {
			root, rootStart = s.Name(), s.StartTime()
		}
		if span.Module != "" && !slices.Contains(modules, span.Module) {
			modules = append(modules, span.Module)
		}
	}
	slices.SortStableFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	slices.Sort(modules)
	if root == "" && len(spans) > 0 {
		root = spans[0].Name
	}
	t := Trace{Root: root, Start: start, DurationMS: millis(end.Sub(start)), Modules: modules, Spans: spans}
	if len(spans) > 0 {
		t.TraceID = spans[0].TraceID
	}
	return t
}

func convert(s sdktrace.ReadOnlySpan) Span {
	attrs := s.Attributes()
	span := Span{
		TraceID:    s.SpanContext().TraceID().String(),
		SpanID:     s.SpanContext().SpanID().String(),
		Name:       s.Name(),
		Kind:       s.SpanKind().String(),
		Start:      s.StartTime(),
		DurationMS: millis(s.EndTime().Sub(s.StartTime())),
		Status:     "ok",
		Attributes: make(map[string]string, len(attrs)),
	}
	if p := s.Parent(); p.IsValid() {
		span.ParentSpanID = p.SpanID().String()
	}
	if st := s.Status(); st.Code == codes.Error {
		span.Status, span.Error = "error", st.Description
	}
	for _, kv := range attrs {
		span.Attributes[string(kv.Key)] = kv.Value.Emit()
		if kv.Key == ModuleKey {
			span.Module = kv.Value.AsString()
		}
	}
	if res := s.Resource(); res != nil {
		if v, ok := res.Set().Value(attribute.Key("service.name")); ok {
			span.Process = v.AsString()
		}
	}
	return span
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
