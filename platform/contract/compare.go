package contract

import (
	"fmt"
	"maps"
	"slices"
)

// Problem is one way a schema breaks the consumers of a published one.
type Problem struct {
	Path   string // the property, e.g. "items[].product_id" ("[]" array items, "{}" map values); empty for the whole payload
	Reason string // what changed, e.g. "removed"
}

// String returns the problem as "path: reason".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Reason
	}
	return p.Path + ": " + p.Reason
}

// Compare lists what current breaks for consumers of published, in a stable
// order: a property removed (a rename shows as a removal and an addition), a
// property's type, nullability or format changed, a property that is no
// longer required, a required property added; nested objects, array items
// and map values the same. Adding an optional property is compatible. An
// empty list means current may replace published.
func Compare(published, current *Schema) []Problem {
	var problems []Problem
	compare("", published, current, &problems)
	return problems
}

func compare(path string, old, cur *Schema, problems *[]Problem) {
	report := func(path, format string, args ...any) {
		*problems = append(*problems, Problem{Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	if old.Type != cur.Type || old.Nullable != cur.Nullable || (old.Values == nil) != (cur.Values == nil) {
		report(path, "type changed from %s to %s", shape(old), shape(cur))
		return
	}
	if old.Format != cur.Format {
		report(path, "format changed from %q to %q", old.Format, cur.Format)
	}
	if old.Items != nil && cur.Items != nil {
		compare(path+"[]", old.Items, cur.Items, problems)
	}
	if old.Values != nil && cur.Values != nil {
		compare(path+"{}", old.Values, cur.Values, problems)
	}
	for _, name := range slices.Sorted(maps.Keys(old.Properties)) {
		at := join(path, name)
		next, ok := cur.Properties[name]
		switch {
		case !ok:
			report(at, "removed")
			continue
		case slices.Contains(old.Required, name) && !slices.Contains(cur.Required, name):
			report(at, "no longer required")
		}
		compare(at, old.Properties[name], next, problems)
	}
	for _, name := range slices.Sorted(maps.Keys(cur.Properties)) {
		if _, ok := old.Properties[name]; !ok && slices.Contains(cur.Required, name) {
			report(join(path, name), "added as required (old messages lack it)")
		}
	}
}

// shape names a schema's type for a message: its type, "map" for an
// object with free property names, and "or null" when nullable.
func shape(s *Schema) string {
	t := s.Type
	if s.Values != nil {
		t = "map"
	}
	if s.Nullable {
		t += " or null"
	}
	return t
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
