// Package domain holds the catalog's rules: what a valid product is and how
// it changes.
package domain

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/platform/apperr"
)

// Limits of a product's fields.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 4000
	MaxPrice          = 100_000_000_00 // 100 million in major units
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Product is the catalog's aggregate. Its fields change only through its methods.
type Product struct {
	id          uuid.UUID
	name        string
	description string
	price       int64
	currency    string
	revision    int
}

// NewProduct validates in and returns a new product with id.
func NewProduct(id uuid.UUID, in catalogapi.ProductInput) (*Product, error) {
	if err := validate(in); err != nil {
		return nil, err
	}
	return &Product{id: id, name: in.Name, description: in.Description, price: in.Price, currency: in.Currency, revision: 1}, nil
}

// Rehydrate rebuilds a stored product. Only storage adapters call it.
func Rehydrate(p catalogapi.Product, revision int) *Product {
	return &Product{id: p.ID, name: p.Name, description: p.Description, price: p.Price, currency: p.Currency, revision: revision}
}

// Replace sets every field from in and reports whether anything changed.
func (p *Product) Replace(in catalogapi.ProductInput) (bool, error) {
	if err := validate(in); err != nil {
		return false, err
	}
	if in.Name == p.name && in.Description == p.description && in.Price == p.price && in.Currency == p.currency {
		return false, nil
	}
	p.name, p.description, p.price, p.currency = in.Name, in.Description, in.Price, in.Currency
	p.revision++
	return true, nil
}

// Snapshot returns the product as a DTO.
func (p *Product) Snapshot() catalogapi.Product {
	return catalogapi.Product{ID: p.id, Name: p.name, Description: p.description, Price: p.price, Currency: p.currency}
}

// Revision counts the product's changes, starting at 1.
func (p *Product) Revision() int { return p.revision }

// Created is the event of a new product.
func (p *Product) Created() catalogapi.ProductCreatedV1 {
	return catalogapi.ProductCreatedV1{ProductID: p.id, Name: p.name, Description: p.description, Price: p.price, Currency: p.currency}
}

// Updated is the event of a changed product.
func (p *Product) Updated() catalogapi.ProductUpdatedV1 {
	return catalogapi.ProductUpdatedV1{ProductID: p.id, Name: p.name, Description: p.description, Price: p.price,
		Currency: p.currency, Revision: p.revision}
}

func validate(in catalogapi.ProductInput) error {
	var v apperr.Validator
	n := utf8.RuneCountInString(in.Name)
	v.Check(utf8.ValidString(in.Name) && n >= 1 && n <= MaxNameLen && in.Name == strings.TrimSpace(in.Name) &&
		!strings.ContainsFunc(in.Name, unicode.IsControl), "name",
		"required, 1-200 characters, no leading or trailing spaces, no control characters")
	// A description may span lines; other control characters (NUL, which
	// Postgres refuses in text, among them) are refused.
	v.Check(utf8.ValidString(in.Description) && utf8.RuneCountInString(in.Description) <= MaxDescriptionLen &&
		!strings.ContainsFunc(in.Description, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }),
		"description", "at most 4000 characters, no control characters but line breaks and tabs")
	v.Check(in.Price > 0 && in.Price <= MaxPrice, "price", "a positive whole number of minor units (cents), at most 10000000000")
	v.Check(currencyCode.MatchString(in.Currency), "currency", "an ISO 4217 code such as EUR or USD")
	if err := v.Err(catalogapi.ErrInvalidProduct.Code); err != nil {
		return err
	}
	return nil
}
