//go:build !extract || extract_payments

package modules

import "github.com/modmono/shop/modules/payments"

// Linked into the monolith and into the binary built by `extract build payments`.
func init() { register(payments.Definition) }
