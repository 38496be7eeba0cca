package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Dialect is the JSON Schema version every generated document declares.
const Dialect = "https://json-schema.org/draft/2020-12/schema"

// Schema is the part of JSON Schema that describes an event payload: the
// shapes encoding/json produces from Go values.
type Schema struct {
	Dialect    string             // "$schema", on the root only
	ID         string             // "$id", on the root only: "<type>.v<version>"
	Title      string             // on the root only: the Go type, e.g. "catalogapi.ProductCreatedV1"
	Type       string             // "object", "array", "string", "integer", "number" or "boolean"
	Nullable   bool               // the value may also be null (a Go pointer)
	Format     string             // "uuid" or "date-time" for such strings, else empty
	Properties map[string]*Schema // an object's properties by JSON name
	Required   []string           // the properties always present, sorted
	Items      *Schema            // an array's elements
	Values     *Schema            // a map's values; nil for a struct, which admits no other properties
}

// Describe returns the schema's type in a few words, e.g. "string (uuid)",
// "array of object" or "integer or null".
func (s *Schema) Describe() string {
	d := s.Type
	switch {
	case s.Format != "":
		d += " (" + s.Format + ")"
	case s.Items != nil:
		d = "array of " + s.Items.Describe()
	case s.Values != nil:
		d = "map of " + s.Values.Describe()
	}
	if s.Nullable {
		d += " or null"
	}
	return d
}

// MarshalJSON encodes the schema as a JSON Schema object. Its keys come out
// sorted, as encoding/json sorts map keys.
func (s Schema) MarshalJSON() ([]byte, error) {
	doc := map[string]any{"type": s.Type}
	if s.Nullable {
		doc["type"] = []string{s.Type, "null"}
	}
	for key, value := range map[string]string{"$schema": s.Dialect, "$id": s.ID, "title": s.Title, "format": s.Format} {
		if value != "" {
			doc[key] = value
		}
	}
	if s.Items != nil {
		doc["items"] = s.Items
	}
	if s.Type == "object" {
		if s.Values != nil {
			doc["additionalProperties"] = s.Values
		} else {
			doc["additionalProperties"] = false
			doc["properties"] = orEmpty(s.Properties)
			if len(s.Required) > 0 {
				doc["required"] = s.Required
			}
		}
	}
	return json.Marshal(doc)
}

// orEmpty returns props, or an empty map for nil, so a struct without
// fields still lists its (no) properties.
func orEmpty(props map[string]*Schema) map[string]*Schema {
	if props == nil {
		return map[string]*Schema{}
	}
	return props
}

// UnmarshalJSON decodes a JSON Schema object written by MarshalJSON. Other
// keywords are ignored.
func (s *Schema) UnmarshalJSON(data []byte) error {
	var doc struct {
		Dialect              string             `json:"$schema"`
		ID                   string             `json:"$id"`
		Title                string             `json:"title"`
		Type                 json.RawMessage    `json:"type"`
		Format               string             `json:"format"`
		Properties           map[string]*Schema `json:"properties"`
		Required             []string           `json:"required"`
		Items                *Schema            `json:"items"`
		AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	*s = Schema{
		Dialect:    doc.Dialect,
		ID:         doc.ID,
		Title:      doc.Title,
		Format:     doc.Format,
		Properties: doc.Properties,
		Required:   doc.Required,
		Items:      doc.Items,
	}
	var types []string
	if err := json.Unmarshal(doc.Type, &s.Type); err != nil {
		if err := json.Unmarshal(doc.Type, &types); err != nil {
			return fmt.Errorf("contract: type must be a string or a list: %s", doc.Type)
		}
	}
	if types != nil {
		s.Nullable = slices.Contains(types, "null")
		types = slices.DeleteFunc(types, func(t string) bool { return t == "null" })
		if len(types) != 1 {
			return fmt.Errorf("contract: type must be one type, optionally with null: %s", doc.Type)
		}
		s.Type = types[0]
	}
	switch extra := bytes.TrimSpace(doc.AdditionalProperties); {
	case len(extra) == 0 || string(extra) == "false":
	case string(extra) == "true":
		return errors.New("contract: additionalProperties true is not supported; give the values' schema")
	default:
		if err := json.Unmarshal(extra, &s.Values); err != nil {
			return err
		}
	}
	return nil
}

// Marshal returns the schema's document in its one checked-in form: sorted
// keys, two-space indent and a trailing newline.
func Marshal(s *Schema) ([]byte, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Parse reads a schema document written by Marshal.
func Parse(data []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("contract: parse schema: %w", err)
	}
	return &s, nil
}
