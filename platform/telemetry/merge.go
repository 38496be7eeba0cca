package telemetry

import (
	"slices"
	"time"
)

// Merge joins the recent traces of several processes: the spans of one
// trace recorded by different processes (a checkout crosses the gateway,
// ordering and payments) become one Trace again. It returns at most limit
// traces (all when limit < 1), newest first.
func Merge(limit int, parts ...[]Trace) []Trace {
	byID := map[string][]Span{}
	var order []string
	for _, part := range parts {
		for _, t := range part {
			if _, seen := byID[t.TraceID]; !seen {
				order = append(order, t.TraceID)
			}
			byID[t.TraceID] = append(byID[t.TraceID], t.Spans...)
		}
	}
	out := make([]Trace, 0, len(order))
	for _, id := range order {
		out = append(out, fromSpans(id, byID[id]))
	}
	slices.SortStableFunc(out, func(a, b Trace) int { return b.Start.Compare(a.Start) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// fromSpans rebuilds a trace from its spans: its root is the span without a
// parent, or, when that one ran in a process that did not answer, the
// earliest span whose parent is not among them.
func fromSpans(id string, spans []Span) Trace {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	t := Trace{TraceID: id, Modules: []string{}, Spans: spans}
	held := make(map[string]bool, len(spans))
	for _, s := range spans {
		held[s.SpanID] = true
	}
	var end time.Time
	orphan := ""
	for _, s := range spans {
		if t.Start.IsZero() || s.Start.Before(t.Start) {
			t.Start = s.Start
		}
		if e := s.Start.Add(time.Duration(s.DurationMS * float64(time.Millisecond))); e.After(end) {
			end = e
		}
		if s.ParentSpanID == "" && t.Root == "" {
			t.Root = s.Name
		}
		if orphan == "" && !held[s.ParentSpanID] {
			orphan = s.Name
		}
		if s.Module != "" && !slices.Contains(t.Modules, s.Module) {
			t.Modules = append(t.Modules, s.Module)
		}
	}
	if t.Root == "" {
		t.Root = orphan
	}
	slices.Sort(t.Modules)
	t.DurationMS = millis(end.Sub(t.Start))
	return t
}
