package orderingapi

import (
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
)

// Name is the module's name, schema and configuration prefix.
const Name = "ordering"

// Surface is what the rest of the system knows about ordering, wherever it
// runs. Every other fact about the module's boundary is derived from it.
var Surface = modkit.Surface{
	Name:    Name,
	Summary: "orders, the checkout saga, the order read model",
	Calls:   []string{"catalog", "inventory", "payments"},
	Events:  []bus.Event{OrderPlacedV1{}, OrderConfirmedV1{}, OrderCancelledV1{}},
	Consumers: []bus.Subscription{
		{Consumer: "ordering.project_placed", Topic: OrderPlaced},
		{Consumer: "ordering.project_confirmed", Topic: OrderConfirmed},
		{Consumer: "ordering.project_cancelled", Topic: OrderCancelled},
		{Consumer: "ordering.replicate_registered_customer", Topic: "identity.user_registered"},
		{Consumer: "ordering.replicate_updated_customer", Topic: "identity.user_updated"},
	},
	Routes: []string{"/orders", "/orders/*", "/admin/sagas/*"},
	Remote: rpc.Provide(Name, NewClient),
}
