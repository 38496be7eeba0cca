package inventoryapi

import (
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
)

// Name is the module's name, schema and configuration prefix.
const Name = "inventory"

// Surface is what the rest of the system knows about inventory, wherever it
// runs. Every other fact about the module's boundary is derived from it.
var Surface = modkit.Surface{
	Name:    Name,
	Summary: "stock levels and reservations",
	Calls:   []string{"catalog"},
	Events:  []bus.Event{StockChangedV1{}},
	Consumers: []bus.Subscription{
		{Consumer: "inventory.track_new_product", Topic: "catalog.product_created"},
	},
	Routes: []string{"/inventory/*"},
	Remote: rpc.Provide(Name, NewClient),
}
