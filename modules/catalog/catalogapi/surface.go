package catalogapi

import (
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
)

// Name is the module's name, schema and configuration prefix.
const Name = "catalog"

// Surface is what the rest of the system knows about catalog, wherever it
// runs. Every other fact about the module's boundary is derived from it.
var Surface = modkit.Surface{
	Name:    Name,
	Summary: "products and prices",
	Events:  []bus.Event{ProductCreatedV1{}, ProductUpdatedV1{}},
	Routes:  []string{"/products", "/products/*"},
	Remote:  rpc.Provide(Name, NewClient),
}
