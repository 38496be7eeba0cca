package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/catalog/internal/domain"
	"github.com/modmono/shop/platform/apperr"
)

func valid() catalogapi.ProductInput {
	return catalogapi.ProductInput{Name: "Tea", Description: "Sencha", Price: 450, Currency: "EUR"}
}

func TestNewProductRules(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		change func(*catalogapi.ProductInput)
		field  string // "" = valid
	}{
		"valid":               {func(*catalogapi.ProductInput) {}, ""},
		"no description":      {func(in *catalogapi.ProductInput) { in.Description = "" }, ""},
		"max price":           {func(in *catalogapi.ProductInput) { in.Price = domain.MaxPrice }, ""},
		"200-rune name":       {func(in *catalogapi.ProductInput) { in.Name = strings.Repeat("é", 200) }, ""},
		"empty name":          {func(in *catalogapi.ProductInput) { in.Name = "" }, "name"},
		"padded name":         {func(in *catalogapi.ProductInput) { in.Name = " Tea" }, "name"},
		"201-rune name":       {func(in *catalogapi.ProductInput) { in.Name = strings.Repeat("a", 201) }, "name"},
		"long description":    {func(in *catalogapi.ProductInput) { in.Description = strings.Repeat("d", 4001) }, "description"},
		"zero price":          {func(in *catalogapi.ProductInput) { in.Price = 0 }, "price"},
		"negative price":      {func(in *catalogapi.ProductInput) { in.Price = -1 }, "price"},
		"price over max":      {func(in *catalogapi.ProductInput) { in.Price = domain.MaxPrice + 1 }, "price"},
		"lower-case currency": {func(in *catalogapi.ProductInput) { in.Currency = "eur" }, "currency"},
		"no currency":         {func(in *catalogapi.ProductInput) { in.Currency = "" }, "currency"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := valid()
			tc.change(&in)
			p, err := domain.NewProduct(uuid.New(), in)
			if tc.field == "" {
				if err != nil || p.Snapshot().Name != in.Name || p.Revision() != 1 {
					t.Fatalf("%v %+v", err, p)
				}
				return
			}
			var e *apperr.Error
			if !errors.As(err, &e) || !errors.Is(err, catalogapi.ErrInvalidProduct) || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Fatalf("want an invalid %s, got %v", tc.field, err)
			}
		})
	}
}

func TestReplaceCountsRevisionsOnlyOnChange(t *testing.T) {
	t.Parallel()
	p, err := domain.NewProduct(uuid.New(), valid())
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := p.Replace(valid()); changed || err != nil || p.Revision() != 1 {
		t.Fatalf("same input: changed %v, %v, revision %d", changed, err, p.Revision())
	}
	in := valid()
	in.Price = 500
	if changed, err := p.Replace(in); !changed || err != nil || p.Revision() != 2 || p.Updated().Revision != 2 || p.Updated().Price != 500 {
		t.Fatalf("new price: changed %v, %v, %+v", changed, err, p.Updated())
	}
	in.Currency = "x"
	if _, err := p.Replace(in); err == nil || p.Snapshot().Currency != "EUR" {
		t.Fatalf("invalid replace applied: %v %+v", err, p.Snapshot())
	}
}
