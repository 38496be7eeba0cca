//go:build !extract || extract_inventory

package modules

import "github.com/modmono/shop/modules/inventory"

// Linked into the monolith and into the binary built by `extract build inventory`.
func init() { register(inventory.Definition) }
