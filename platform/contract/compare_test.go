package contract_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/contract"
)

// The published version every case changes.
type published struct {
	versioned
	ID     uuid.UUID      `json:"id"`
	Price  int64          `json:"price"`
	Lines  []line         `json:"lines"`
	Parent line           `json:"parent"`
	Meta   map[string]int `json:"meta"`
}

type lineWithoutSKU struct {
	Qty int `json:"qty"`
}

type lineWithTextQty struct {
	SKU string `json:"sku"`
	Qty string `json:"qty"`
}

func TestCompare(t *testing.T) {
	t.Parallel()
	type (
		identical struct {
			versioned
			ID     uuid.UUID      `json:"id"`
			Price  int64          `json:"price"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		optionalAdded struct {
			published
			Note string `json:"note,omitempty"`
		}
		removed struct {
			versioned
			ID     uuid.UUID      `json:"id"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		renamed struct {
			versioned
			ID     uuid.UUID      `json:"id"`
			Price  int64          `json:"amount"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		typeChanged struct {
			versioned
			ID     uuid.UUID      `json:"id"`
			Price  string         `json:"price"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		nowNullable struct {
			versioned
			ID     uuid.UUID      `json:"id"`
			Price  *int64         `json:"price"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		formatChanged struct {
			versioned
			ID     string         `json:"id"`
			Price  int64          `json:"price"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		requiredAdded struct {
			published
			Note string `json:"note"`
		}
		noLongerRequired struct {
			versioned
			ID     uuid.UUID      `json:"id"`
			Price  int64          `json:"price,omitempty"`
			Lines  []line         `json:"lines"`
			Parent line           `json:"parent"`
			Meta   map[string]int `json:"meta"`
		}
		nestedInItems struct {
			versioned
			ID     uuid.UUID        `json:"id"`
			Price  int64            `json:"price"`
			Lines  []lineWithoutSKU `json:"lines"`
			Parent line             `json:"parent"`
			Meta   map[string]int   `json:"meta"`
		}
		nestedInObject struct {
			versioned
			ID     uuid.UUID       `json:"id"`
			Price  int64           `json:"price"`
			Lines  []line          `json:"lines"`
			Parent lineWithTextQty `json:"parent"`
			Meta   map[string]int  `json:"meta"`
		}
		mapValues struct {
			versioned
			ID     uuid.UUID         `json:"id"`
			Price  int64             `json:"price"`
			Lines  []line            `json:"lines"`
			Parent line              `json:"parent"`
			Meta   map[string]string `json:"meta"`
		}
		mapToObject struct {
			versioned
			ID     uuid.UUID `json:"id"`
			Price  int64     `json:"price"`
			Lines  []line    `json:"lines"`
			Parent line      `json:"parent"`
			Meta   line      `json:"meta"`
		}
	)
	old := generate(t, published{})
	for _, tc := range []struct {
		name    string
		current contract.Event
		want    []string
	}{
		{"identical", identical{}, nil},
		{"optional property added", optionalAdded{}, nil},
		{"property removed", removed{}, []string{"price: removed"}},
		{"property renamed", renamed{}, []string{"price: removed", "amount: added as required (old messages lack it)"}},
		{"type changed", typeChanged{}, []string{"price: type changed from integer to string"}},
		{"null allowed", nowNullable{}, []string{"price: type changed from integer to integer or null"}},
		{"format changed", formatChanged{}, []string{`id: format changed from "uuid" to ""`}},
		{"required property added", requiredAdded{}, []string{"note: added as required (old messages lack it)"}},
		{"property no longer required", noLongerRequired{}, []string{"price: no longer required"}},
		{"nested in array items", nestedInItems{}, []string{"lines[].sku: removed"}},
		{"nested in an object", nestedInObject{}, []string{"parent.qty: type changed from integer to string"}},
		{"map values", mapValues{}, []string{"meta{}: type changed from integer to string"}},
		{"map to object", mapToObject{}, []string{"meta: type changed from map to object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range contract.Compare(old, generate(t, tc.current)) {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

// Compare reads a checked-in schema as well as a generated one.
func TestCompareParsedSchema(t *testing.T) {
	t.Parallel()
	data, err := contract.Marshal(generate(t, published{}))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := contract.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if problems := contract.Compare(parsed, generate(t, published{})); len(problems) > 0 {
		t.Errorf("problems %v", problems)
	}
}

func generate(t *testing.T, e contract.Event) *contract.Schema {
	t.Helper()
	s, err := contract.Generate(e)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
