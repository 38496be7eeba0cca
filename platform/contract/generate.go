package contract

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// Event is what Generate needs of an event type; bus.Event satisfies it.
type Event interface {
	EventType() string
	EventVersion() int
}

// ID returns the schema ID of e's type and version, "<type>.v<version>",
// e.g. "catalog.product_created.v1". Its file is ID(e) + ".json".
func ID(e Event) string {
	return fmt.Sprintf("%s.v%d", e.EventType(), e.EventVersion())
}

// Generate returns the JSON Schema of e's payload: the object encoding/json
// makes of e's Go type. It fails on a type whose encoding it cannot tell:
// a custom json.Marshaler other than time.Time, an interface, a channel, a
// function, a complex number or a recursive type.
func Generate(e Event) (*Schema, error) {
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("contract: %s is not a struct", t)
	}
	g := generator{inProgress: map[reflect.Type]bool{}}
	s, err := g.schema(t)
	if err != nil {
		return nil, fmt.Errorf("contract: %s: %w", t, err)
	}
	s.Dialect, s.ID, s.Title = Dialect, ID(e), t.String()
	return s, nil
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// generator walks a type; inProgress holds the structs being walked, to
// refuse recursive types.
type generator struct {
	inProgress map[reflect.Type]bool
}

func (g generator) schema(t reflect.Type) (*Schema, error) {
	switch {
	case t.Kind() == reflect.Pointer:
		s, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		s.Nullable = true
		return s, nil
	case t == timeType:
		return &Schema{Type: "string", Format: "date-time"}, nil
	case t.PkgPath() == "github.com/google/uuid" && t.Name() == "UUID":
		return &Schema{Type: "string", Format: "uuid"}, nil
	case implements(t, jsonMarshaler):
		return nil, fmt.Errorf("%s has its own MarshalJSON, so its shape is unknown", t)
	case implements(t, textMarshaler):
		return &Schema{Type: "string"}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &Schema{Type: "string"}, nil
	case reflect.Bool:
		return &Schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &Schema{Type: "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}, nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !implements(t.Elem(), textMarshaler) {
			return &Schema{Type: "string"}, nil // []byte is base64 text
		}
		items, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if k := t.Key().Kind(); k != reflect.String && !implements(t.Key(), textMarshaler) &&
			(k < reflect.Int || k > reflect.Uintptr) {
			return nil, fmt.Errorf("map key %s cannot be a JSON property name", t.Key())
		}
		values, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "object", Values: values}, nil
	case reflect.Struct:
		return g.object(t)
	}
	return nil, fmt.Errorf("%s: kind %s has no JSON Schema here", t, t.Kind())
}

// implements reports whether t or *t implements the interface iface, as
// encoding/json checks for an addressable value.
func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface))
}

// field is one JSON property of a struct, found at depth levels of
// embedding.
type field struct {
	name     string
	depth    int
	tagged   bool // its name comes from a json tag
	required bool
	schema   *Schema
}

// object returns the schema of struct t: its properties are the fields
// encoding/json encodes, embedded structs flattened into it.
func (g generator) object(t reflect.Type) (*Schema, error) {
	fields, err := g.fields(t, 0, false)
	if err != nil {
		return nil, err
	}
	byName := map[string][]field{}
	for _, f := range fields {
		byName[f.name] = append(byName[f.name], f)
	}
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	for name, candidates := range byName {
		f, ok := dominant(candidates)
		if !ok {
			continue
		}
		s.Properties[name] = f.schema
		if f.required {
			s.Required = append(s.Required, name)
		}
	}
	sort.Strings(s.Required)
	return s, nil
}

// dominant picks the field encoding/json encodes among fields of one name:
// the shallowest; among equally shallow ones, the only tagged one. With no
// such field, encoding/json encodes none of them.
func dominant(fields []field) (field, bool) {
	depth := slices.MinFunc(fields, func(a, b field) int { return a.depth - b.depth }).depth
	fields = slices.DeleteFunc(fields, func(f field) bool { return f.depth > depth })
	if len(fields) == 1 {
		return fields[0], true
	}
	fields = slices.DeleteFunc(fields, func(f field) bool { return !f.tagged })
	if len(fields) == 1 {
		return fields[0], true
	}
	return field{}, false
}

// fields lists the JSON properties of struct t, including those of its
// embedded structs. Fields reached through an embedded pointer are optional:
// a nil pointer leaves them out.
func (g generator) fields(t reflect.Type, depth int, optional bool) ([]field, error) {
	if g.inProgress[t] {
		return nil, fmt.Errorf("recursive type %s", t)
	}
	g.inProgress[t] = true
	defer delete(g.inProgress, t)

	var fields []field
	for sf := range t.Fields() {
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		opts := strings.Split(options, ",")
		ft := sf.Type
		if sf.Anonymous {
			embedded := ft
			if embedded.Kind() == reflect.Pointer {
				embedded = embedded.Elem()
			}
			if name == "" && embedded.Kind() == reflect.Struct {
				inner, err := g.fields(embedded, depth+1, optional || ft.Kind() == reflect.Pointer)
				if err != nil {
					return nil, err
				}
				fields = append(fields, inner...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		s, err := g.schema(ft)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", sf.Name, err)
		}
		if slices.Contains(opts, "string") && quotable(ft) {
			s = &Schema{Type: "string", Nullable: s.Nullable} // the ",string" option quotes the value
		}
		f := field{name: name, depth: depth, tagged: name != "", schema: s}
		if name == "" {
			f.name = sf.Name
		}
		f.required = !optional && !slices.Contains(opts, "omitempty") && !slices.Contains(opts, "omitzero")
		fields = append(fields, f)
	}
	return fields, nil
}

// quotable reports whether the ",string" option applies to a field of type
// t: a string, number or boolean, or an unnamed pointer to one.
func quotable(t reflect.Type) bool {
	if t.Name() == "" && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}
