// Command app runs the shop: every module in one process by default, or the
// modules named by APP_MODULES, reaching the others at APP_REMOTE_<MODULE>.
// See README.md for the configuration.
package main

import (
	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
)

func main() { process.Main("app", modules.All) }
