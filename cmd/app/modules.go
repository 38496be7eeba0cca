package main

import (
	"github.com/modmono/shop/modules/catalog"
	"github.com/modmono/shop/modules/inventory"
	"github.com/modmono/shop/platform/modkit"
)

// modules lists every module of the system, in start-up order.
var modules = []modkit.Definition{
	catalog.Definition,
	inventory.Definition,
}

func moduleNames() []string {
	names := make([]string, len(modules))
	for i, m := range modules {
		names[i] = m.Name
	}
	return names
}
