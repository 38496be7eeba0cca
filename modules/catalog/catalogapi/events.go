package catalogapi

import "github.com/google/uuid"

// Event types (topics) the catalog publishes.
const (
	ProductCreated = "catalog.product_created"
	ProductUpdated = "catalog.product_updated"
)

// ProductCreatedV1 announces a new product.
type ProductCreatedV1 struct {
	ProductID   uuid.UUID `json:"product_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
}

func (ProductCreatedV1) EventType() string     { return ProductCreated }
func (ProductCreatedV1) EventVersion() int     { return 1 }
func (e ProductCreatedV1) AggregateID() string { return e.ProductID.String() }

// ProductUpdatedV1 announces the new state of a product after a change.
type ProductUpdatedV1 struct {
	ProductID   uuid.UUID `json:"product_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	Revision    int       `json:"revision"`
}

func (ProductUpdatedV1) EventType() string     { return ProductUpdated }
func (ProductUpdatedV1) EventVersion() int     { return 1 }
func (e ProductUpdatedV1) AggregateID() string { return e.ProductID.String() }
