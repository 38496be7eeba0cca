// Package modules lists every bounded context of the system. Only the
// monolith's main and the extraction tool import it; a module never does.
package modules

import (
	"github.com/modmono/shop/modules/catalog"
	"github.com/modmono/shop/modules/identity"
	"github.com/modmono/shop/modules/inventory"
	"github.com/modmono/shop/modules/notifications"
	"github.com/modmono/shop/modules/ordering"
	"github.com/modmono/shop/modules/payments"
	"github.com/modmono/shop/platform/modkit"
)

// All lists the modules in start-up order: a module comes after the ones
// whose API it calls.
var All = []modkit.Definition{
	identity.Definition,
	catalog.Definition,
	inventory.Definition,
	payments.Definition,
	ordering.Definition,
	notifications.Definition,
}

// Names returns the module names in start-up order.
func Names() []string {
	names := make([]string, len(All))
	for i, m := range All {
		names[i] = m.Name
	}
	return names
}
