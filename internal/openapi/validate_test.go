package openapi_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// validate checks v, decoded with json.Number, against schema: the subset
// of JSON Schema 2020-12 the document uses ($ref, anyOf, type, const, enum,
// properties, required, additionalProperties, items, format uuid and
// date-time, minimum, maximum, minLength, maxLength, minItems, maxItems,
// pattern).
//
// It is stricter than JSON Schema in one way: an object schema with
// properties and no additionalProperties keyword admits no other property.
// Answers are checked with it, so a field the code adds fails the test
// until the document lists it; a schema that really is open says
// additionalProperties: true.
func (d *document) validate(schema any, v any, at string) []string {
	s := d.resolve(schema)
	if s == nil {
		return []string{fmt.Sprintf("%s: the schema does not resolve", at)}
	}
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, a...)) }

	if anyOf, ok := s["anyOf"].([]any); ok {
		var all []string
		for _, alt := range anyOf {
			e := d.validate(alt, v, at)
			if len(e) == 0 {
				all = nil
				break
			}
			all = append(all, e...)
		}
		if all != nil {
			fail("matches none of anyOf: %v", all)
		}
	}
	if c, ok := s["const"]; ok && !equal(c, v) {
		fail("is %v, want %v", v, c)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return equal(e, v) }) {
		fail("%v is not one of %v", v, enum)
	}
	if t, ok := s["type"]; ok && !hasType(t, v) {
		fail("is %s, want type %v", typeOf(v), t)
		return errs
	}

	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		required, _ := s["required"].([]any)
		for _, r := range required {
			name, _ := r.(string)
			if _, ok := v[name]; !ok {
				fail("lacks the required property %q", name)
			}
		}
		for name, pv := range v {
			if ps, ok := props[name]; ok {
				errs = append(errs, d.validate(ps, pv, at+"."+name)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("has property %q, which the schema does not allow", name)
				}
			case map[string]any:
				errs = append(errs, d.validate(ap, pv, at+"."+name)...)
			case nil:
				if props != nil {
					fail("has property %q, which the document does not list", name)
				}
			}
		}
	case []any:
		if n, ok := number(s["minItems"]); ok && float64(len(v)) < n {
			fail("has %d items, want at least %v", len(v), n)
		}
		if n, ok := number(s["maxItems"]); ok && float64(len(v)) > n {
			fail("has %d items, want at most %v", len(v), n)
		}
		if items, ok := s["items"]; ok {
			for i, e := range v {
				errs = append(errs, d.validate(items, e, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	case string:
		n := float64(utf8.RuneCountInString(v))
		if m, ok := number(s["minLength"]); ok && n < m {
			fail("is shorter than %v", m)
		}
		if m, ok := number(s["maxLength"]); ok && n > m {
			fail("is longer than %v", m)
		}
		if p, ok := s["pattern"].(string); ok {
			if re, err := regexp.Compile(p); err != nil {
				fail("pattern %q does not compile: %v", p, err)
			} else if !re.MatchString(v) {
				fail("%q does not match %s", v, p)
			}
		}
		switch s["format"] {
		case "uuid":
			if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
				fail("%q is not a UUID", v)
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				fail("%q is not an RFC 3339 time", v)
			}
		}
	case json.Number:
		f, _ := v.Float64()
		if m, ok := number(s["minimum"]); ok && f < m {
			fail("%v is below the minimum %v", v, m)
		}
		if m, ok := number(s["maximum"]); ok && f > m {
			fail("%v is above the maximum %v", v, m)
		}
	}
	return errs
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func hasType(want any, v any) bool {
	got := typeOf(v)
	match := func(t any) bool { return t == got || (t == "number" && got == "integer") }
	if list, ok := want.([]any); ok {
		return slices.ContainsFunc(list, match)
	}
	return match(want)
}
