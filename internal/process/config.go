package process

import (
	"go.uber.org/fx"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/modkit"
)

// Config is what a process is configured with: the process settings
// (platform/config), the own settings of each module it runs, and the
// settings of the parts of the process itself.
type Config struct {
	config.Config
	SeedDemo bool // APP_SEED_DEMO, read where catalog runs: default true in dev, false in prod
	// Secrets are the secrets this process reads (config.Reader.Secret):
	// the process's own and those of the modules it runs. A deployment
	// gives it these and no other.
	Secrets  []string
	settings fx.Option // the settings of the local modules, supplied to their wiring
}

// Load reads the configuration of a process that links the modules of
// linked through getenv (os.Getenv, or a map in tests): the process
// settings, then the settings of each module of APP_MODULES, only those,
// so a process is never refused for another module's setting. Every
// problem comes back at once, in one error.
func Load(getenv func(string) string, linked []modkit.Definition) (Config, error) {
	names := []string{} // not nil: a binary that links no module is a pure gateway
	for _, m := range linked {
		names = append(names, m.Name)
	}
	r := config.NewReader(getenv)
	c := Config{Config: config.Read(r, surfaces.Names(), names...)}
	var settings []fx.Option
	for _, m := range linked {
		if c.Local(m.Name) && m.Settings != nil {
			settings = append(settings, m.Settings(r))
		}
	}
	c.settings = fx.Options(settings...)
	if c.Local("catalog") {
		c.SeedDemo = r.Bool("APP_SEED_DEMO", !r.Prod())
	}
	c.Secrets = r.Secrets()
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}
