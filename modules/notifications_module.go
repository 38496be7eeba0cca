//go:build !extract || extract_notifications

package modules

import "github.com/modmono/shop/modules/notifications"

// Linked into the monolith and into the binary built by `extract build notifications`.
func init() { register(notifications.Definition) }
