package inventoryapi

import "github.com/google/uuid"

// Event types (topics) inventory publishes.
const (
	StockChanged = "inventory.stock_changed"
)

// StockChangedV1 announces a product's new stock level.
type StockChangedV1 struct {
	ProductID uuid.UUID `json:"product_id"`
	OnHand    int64     `json:"on_hand"`
	Reserved  int64     `json:"reserved"`
}

func (StockChangedV1) EventType() string     { return StockChanged }
func (StockChangedV1) EventVersion() int     { return 1 }
func (e StockChangedV1) AggregateID() string { return e.ProductID.String() }
