//go:build !extract || extract_ordering

package modules

import "github.com/modmono/shop/modules/ordering"

// Linked into the monolith and into the binary built by `extract build ordering`.
func init() { register(ordering.Definition) }
