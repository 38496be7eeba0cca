// Package surfaces lists every module of the system by its surface: what a
// process knows of a module it may not run (its API as an HTTP client, the
// public routes the gateway forwards to it, the durable consumers of events
// it declares on the broker). It imports only the modules' surface packages
// (<module>api), so an extracted binary that links it still links no other
// module's code. Each surface is declared in its own <module>api package;
// this package only gathers them.
package surfaces

import (
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
)

// All lists every module of the system in start-up order: a module comes
// after the modules whose API it calls (modkit.StartOrder).
var All = mustStartOrder(
	identityapi.Surface,
	catalogapi.Surface,
	inventoryapi.Surface,
	paymentsapi.Surface,
	orderingapi.Surface,
	notificationsapi.Surface,
)

func mustStartOrder(surfaces ...modkit.Surface) []modkit.Surface {
	ordered, err := modkit.StartOrder(surfaces)
	if err != nil {
		panic(err) // a module calls an unknown module, or calls form a cycle: the tests catch it first
	}
	return ordered
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
