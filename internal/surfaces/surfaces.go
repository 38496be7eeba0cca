// Package surfaces tells a process how to reach every module it does not
// run: the module's API as an HTTP client, the public routes the gateway
// forwards to it, and the durable consumers of events it declares on the
// broker. It imports only the modules' surface packages (<module>api), so an
// extracted binary that links it still links no other module's code.
package surfaces

import (
	"go.uber.org/fx"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/rpc"
)

// Surface is what the rest of a deployment knows about one module.
type Surface struct {
	Name string
	// Remote provides the module's <module>api.API as a client of its
	// remote instances (APP_REMOTE_<MODULE>).
	Remote fx.Option
	// Routes are the chi patterns, under /api/v1, of the module's public
	// routes; a process where the module is remote forwards them to it.
	Routes []string
	// Consumers are the module's durable event consumers. Every process
	// declares their RabbitMQ queues before it publishes, so an event
	// published while its consumer's process is down waits in its queue.
	Consumers []bus.Subscription
}

// All lists every module of the system, in start-up order.
var All = []Surface{
	{
		Name:   "identity",
		Remote: rpc.Provide("identity", identityapi.NewClient),
		Routes: []string{"/auth/*", "/users/*"},
	},
	{
		Name:   "catalog",
		Remote: rpc.Provide("catalog", catalogapi.NewClient),
		Routes: []string{"/products", "/products/*"},
	},
	{
		Name:      "inventory",
		Remote:    rpc.Provide("inventory", inventoryapi.NewClient),
		Routes:    []string{"/inventory/*"},
		Consumers: []bus.Subscription{{Consumer: "inventory.track_new_product", Topic: catalogapi.ProductCreated}},
	},
	{
		Name:   "payments",
		Remote: rpc.Provide("payments", paymentsapi.NewClient),
		Routes: []string{"/payments"},
	},
	{
		Name:   "ordering",
		Remote: rpc.Provide("ordering", orderingapi.NewClient),
		Routes: []string{"/orders", "/orders/*"},
		Consumers: []bus.Subscription{
			{Consumer: "ordering.project_placed", Topic: orderingapi.OrderPlaced},
			{Consumer: "ordering.project_confirmed", Topic: orderingapi.OrderConfirmed},
			{Consumer: "ordering.project_cancelled", Topic: orderingapi.OrderCancelled},
			{Consumer: "ordering.replicate_registered_customer", Topic: identityapi.UserRegistered},
			{Consumer: "ordering.replicate_updated_customer", Topic: identityapi.UserUpdated},
		},
	},
	{
		Name:   "notifications",
		Remote: rpc.Provide("notifications", notificationsapi.NewClient),
		Routes: []string{"/notifications"},
		Consumers: []bus.Subscription{
			{Consumer: "notifications.welcome", Topic: identityapi.UserRegistered},
			{Consumer: "notifications.order_confirmed", Topic: orderingapi.OrderConfirmed},
			{Consumer: "notifications.order_cancelled", Topic: orderingapi.OrderCancelled},
			{Consumer: "notifications.payment_refunded", Topic: paymentsapi.PaymentRefunded},
		},
	},
}

// Names returns every module's name, in start-up order.
func Names() []string {
	names := make([]string, len(All))
	for i, s := range All {
		names[i] = s.Name
	}
	return names
}

// Topology returns every durable consumer of the system.
func Topology() []bus.Subscription {
	var subs []bus.Subscription
	for _, s := range All {
		subs = append(subs, s.Consumers...)
	}
	return subs
}
