//go:build !extract || extract_catalog

package modules

import "github.com/modmono/shop/modules/catalog"

// Linked into the monolith and into the binary built by `extract build catalog`.
func init() { register(catalog.Definition) }
