package notificationsapi

import (
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
)

// Name is the module's name, schema and configuration prefix.
const Name = "notifications"

// Surface is what the rest of the system knows about notifications, wherever it
// runs. Every other fact about the module's boundary is derived from it.
var Surface = modkit.Surface{
	Name:    Name,
	Summary: "messages sent to users, from events",
	Consumers: []bus.Subscription{
		{Consumer: "notifications.welcome", Topic: "identity.user_registered"},
		{Consumer: "notifications.order_confirmed", Topic: "ordering.order_confirmed"},
		{Consumer: "notifications.order_cancelled", Topic: "ordering.order_cancelled"},
		{Consumer: "notifications.payment_refunded", Topic: "payments.payment_refunded"},
	},
	Routes: []string{"/notifications"},
	Remote: rpc.Provide(Name, NewClient),
}
