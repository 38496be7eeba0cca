//go:build !extract || extract_identity

package modules

import "github.com/modmono/shop/modules/identity"

// Linked into the monolith and into the binary built by `extract build identity`.
func init() { register(identity.Definition) }
