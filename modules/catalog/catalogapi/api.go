// Package catalogapi is the catalog module's public surface: the only
// package of the module that other modules may import. It holds the API
// other modules call, its DTOs and errors, and the events catalog publishes.
package catalogapi

//go:generate go run ../../../internal/rpcgen

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/page"
)

// Product is a product as other modules and clients see it. Price is in the
// currency's minor units (cents).
type Product struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
}

// ProductInput creates a product or replaces all of its fields.
type ProductInput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
}

// API is what the catalog offers other modules, in process or over HTTP.
type API interface {
	CreateProduct(ctx context.Context, in ProductInput) (Product, error)
	// UpdateProduct replaces every field of the product.
	//rpc:idempotent
	UpdateProduct(ctx context.Context, id uuid.UUID, in ProductInput) (Product, error)
	//rpc:idempotent
	GetProduct(ctx context.Context, id uuid.UUID) (Product, error)
	// ListProducts pages through products in creation order.
	//rpc:idempotent
	ListProducts(ctx context.Context, req page.Request) (page.Page[Product], error)
}

// Errors of the API. Match them with errors.Is.
var (
	// ErrProductNotFound means no product has the ID in the request: it was never created, or the ID
	// is mistyped. List the products with GET /api/v1/products and use an id from there.
	ErrProductNotFound = apperr.New(apperr.KindNotFound, "catalog.product_not_found", "no product with this id")
	// ErrInvalidProduct means a product to create or replace breaks a field rule: a name is required,
	// the price is a positive whole number of minor units (cents), and the currency is a three-
	// letter ISO 4217 code. The errors member names each field that failed.
	ErrInvalidProduct = apperr.New(apperr.KindInvalid, "catalog.invalid_product", "the product has invalid fields")
)
