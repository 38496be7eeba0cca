package paymentsapi

import (
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
)

// Name is the module's name, schema and configuration prefix.
const Name = "payments"

// Surface is what the rest of the system knows about payments, wherever it
// runs. Every other fact about the module's boundary is derived from it.
var Surface = modkit.Surface{
	Name:    Name,
	Summary: "event-sourced payments through a provider behind an anti-corruption layer",
	Events:  []bus.Event{PaymentCapturedV1{}, PaymentFailedV1{}, PaymentRefundedV1{}},
	Routes:  []string{"/payments"},
	Remote:  rpc.Provide(Name, NewClient),
}
