// Command app runs the shop: every module in one process by default, or the
// modules named by APP_MODULES, reaching the others at APP_REMOTE_<MODULE>.
// Built with the tags extract,extract_<module> (`extract build`), it is that
// module's own binary. See docs/configuration.md for the configuration
// and docs/commands.md for the commands.
package main

import (
	"os"
	"path/filepath"

	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
)

func main() { process.Main(filepath.Base(os.Args[0]), modules.All) }
