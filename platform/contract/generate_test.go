package contract_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/contract"
)

// versioned gives a test struct the methods of an event without adding a
// property: an embedded struct without fields.
type versioned struct{}

func (versioned) EventType() string { return "test.thing_happened" }
func (versioned) EventVersion() int { return 3 }

type color string

type line struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type base struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"` // shadowed by kinds.Name, which is shallower
}

type extra struct {
	Comment string `json:"comment"`
}

// kinds has a field of every kind the generator knows.
type kinds struct {
	versioned
	base
	*extra
	Name     string         `json:"name"`
	Color    color          `json:"color"`
	At       time.Time      `json:"at"`
	Count    int32          `json:"count"`
	Size     uint64         `json:"size,omitempty"`
	OK       bool           `json:"ok"`
	Ratio    float64        `json:"ratio"`
	Lines    []line         `json:"lines"`
	Tags     []string       `json:"tags,omitempty"`
	Meta     map[string]int `json:"meta"`
	Parent   *line          `json:"parent"`
	Note     *string        `json:"note,omitzero"`
	Raw      []byte         `json:"raw"`
	Quoted   int            `json:"quoted,string"`
	Untagged string
	Skipped  string `json:"-"`
	hidden   string
}

const kindsSchema = `{
  "$id": "test.thing_happened.v3",
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "additionalProperties": false,
  "properties": {
    "Untagged": {
      "type": "string"
    },
    "at": {
      "format": "date-time",
      "type": "string"
    },
    "color": {
      "type": "string"
    },
    "comment": {
      "type": "string"
    },
    "count": {
      "type": "integer"
    },
    "id": {
      "format": "uuid",
      "type": "string"
    },
    "lines": {
      "items": {
        "additionalProperties": false,
        "properties": {
          "qty": {
            "type": "integer"
          },
          "sku": {
            "type": "string"
          }
        },
        "required": [
          "qty",
          "sku"
        ],
        "type": "object"
      },
      "type": "array"
    },
    "meta": {
      "additionalProperties": {
        "type": "integer"
      },
      "type": "object"
    },
    "name": {
      "type": "string"
    },
    "note": {
      "type": [
        "string",
        "null"
      ]
    },
    "ok": {
      "type": "boolean"
    },
    "parent": {
      "additionalProperties": false,
      "properties": {
        "qty": {
          "type": "integer"
        },
        "sku": {
          "type": "string"
        }
      },
      "required": [
        "qty",
        "sku"
      ],
      "type": [
        "object",
        "null"
      ]
    },
    "quoted": {
      "type": "string"
    },
    "ratio": {
      "type": "number"
    },
    "raw": {
      "type": "string"
    },
    "size": {
      "type": "integer"
    },
    "tags": {
      "items": {
        "type": "string"
      },
      "type": "array"
    }
  },
  "required": [
    "Untagged",
    "at",
    "color",
    "count",
    "id",
    "lines",
    "meta",
    "name",
    "ok",
    "parent",
    "quoted",
    "ratio",
    "raw"
  ],
  "title": "contract_test.kinds",
  "type": "object"
}
`

func TestGenerateCoversEveryKind(t *testing.T) {
	t.Parallel()
	s, err := contract.Generate(kinds{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := contract.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != kindsSchema {
		t.Errorf("schema:\n%s\nwant:\n%s", got, kindsSchema)
	}
}

// The schema's properties are exactly the keys encoding/json writes for a
// value with every field set.
func TestGenerateMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	note := "n"
	v := kinds{
		extra: &extra{Comment: "c"}, Size: 1, Tags: []string{"t"}, Note: &note,
		Untagged: "u", Skipped: "s", hidden: "h",
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var encoded map[string]any
	if err := json.Unmarshal(data, &encoded); err != nil {
		t.Fatal(err)
	}
	s, err := contract.Generate(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(s.Properties)), slices.Sorted(maps.Keys(encoded)); !slices.Equal(got, want) {
		t.Errorf("properties %v, encoding/json writes %v", got, want)
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := contract.Parse([]byte(kindsSchema))
	if err != nil {
		t.Fatal(err)
	}
	generated, err := contract.Generate(kinds{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, generated) {
		t.Errorf("parsed %+v, generated %+v", s, generated)
	}
	again, err := contract.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != kindsSchema {
		t.Errorf("marshal after parse:\n%s", again)
	}
}

type node struct {
	versioned
	Next *node `json:"next"`
}

type withInterface struct {
	versioned
	Any any `json:"any"`
}

type withRawJSON struct {
	versioned
	Raw json.RawMessage `json:"raw"`
}

type withChannel struct {
	versioned
	C chan int `json:"c"`
}

type withStructKey struct {
	versioned
	M map[line]int `json:"m"`
}

func TestGenerateRefusesUnknownShapes(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]contract.Event{
		"recursive type":     node{},
		"interface":          withInterface{},
		"custom MarshalJSON": withRawJSON{},
		"channel":            withChannel{},
		"struct map key":     withStructKey{},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if s, err := contract.Generate(e); err == nil {
				t.Errorf("no error; schema %+v", s)
			}
		})
	}
}

func TestID(t *testing.T) {
	t.Parallel()
	if got := contract.ID(kinds{}); got != "test.thing_happened.v3" {
		t.Errorf("ID = %q", got)
	}
}
