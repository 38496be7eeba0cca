// Package identity is the identity bounded context: accounts, their
// credentials and roles, and the access tokens that prove them. See
// README.md for its language, rules and events.
package identity

import (
	"context"
	"os"
	"strings"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	identitymigrations "github.com/modmono/shop/migrations/identity"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/adapters/pg"
	"github.com/modmono/shop/modules/identity/internal/app"
	"github.com/modmono/shop/modules/identity/internal/ports/httpport"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/ratelimit"
)

// Name is the module's name, schema and configuration prefix.
const Name = identityapi.Name

// Module wires identity: its database, its service behind identityapi.API,
// the seeding of the admin account at start and its routes.
var Module = fx.Module(Name,
	fx.Provide(
		fx.Private,
		func(dbs *host.Databases) (*pgxdb.DB, error) { return dbs.OpenModule(Name, identitymigrations.FS) },
		// The app layer knows its store by the interface it owns.
		func(db *pgxdb.DB) app.Users { return pg.NewUsers(db) },
		app.New,
		newSigner,
	),
	// Every process verifies user tokens with these keys: here directly,
	// elsewhere fetched from GET /.well-known/jwks.json (host serves it).
	fx.Provide(func(s *auth.Signer) auth.KeySource { return s }),
	fx.Provide(func(s *app.Service) identityapi.API { return identityapi.Traced(s) }),
	fx.Invoke(seedAdmin, mount),
	host.ServeAPI[identityapi.API](Name), // for modules in other processes
)

// Definition describes identity to the application and the extraction tool.
var Definition = modkit.Definition{
	Surface:    identityapi.Surface,
	FX:         Module,
	Settings:   modkit.Settings(readSettings),
	Migrations: identitymigrations.FS,
}

// Settings are identity's own settings, read and checked only in a process
// that runs identity: no other process is given its secrets.
type Settings struct {
	AdminEmail    string // APP_ADMIN_EMAIL: the seeded admin account
	AdminPassword string // APP_ADMIN_PASSWORD; dev: generated and printed once
	// SigningKeys is APP_JWT_PRIVATE_KEY: the Ed25519 keys (PEM) of user
	// tokens, the first signing; dev: generated and kept under APP_DATA_DIR.
	SigningKeys string
}

func readSettings(r *config.Reader) Settings {
	s := Settings{
		AdminEmail:    r.String("APP_ADMIN_EMAIL", "admin@example.com"),
		AdminPassword: r.Secret("APP_ADMIN_PASSWORD", 12),
		SigningKeys:   r.Secret("APP_JWT_PRIVATE_KEY", 0), // checked below, with what to run
	}
	if !strings.Contains(s.AdminEmail, "@") {
		r.Invalid("APP_ADMIN_EMAIL %q is not an email address", s.AdminEmail)
	}
	// The keys are parsed when the signer is built, at start.
	if s.SigningKeys == "" && r.Prod() {
		r.Invalid("APP_ENV=prod: APP_JWT_PRIVATE_KEY must be set on the process running identity (an Ed25519 key in PEM: openssl genpkey -algorithm ed25519)")
	}
	return s
}

// newSigner signs the access tokens Login issues, with the keys of
// APP_JWT_PRIVATE_KEY: only this module holds them.
func newSigner(s Settings, cfg config.Config, log *zap.Logger) (*auth.Signer, error) {
	keys, err := host.SigningKeys(s.SigningKeys, cfg, log.Named(Name))
	if err != nil {
		return nil, err
	}
	return auth.NewSigner(keys, host.TokenTTL)
}

// seedAdmin makes sure the admin account of APP_ADMIN_* exists before the
// process serves: fx runs a module's invokes before the application's own,
// so this hook runs before those of host.Run and host.Serve.
func seedAdmin(lc fx.Lifecycle, s *app.Service, settings Settings, cfg config.Config, log *zap.Logger) {
	lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
		return s.SeedAdmin(ctx, app.AdminConfig{
			Email:    settings.AdminEmail,
			Password: settings.AdminPassword,
			Dev:      cfg.Dev(),
			DataDir:  cfg.DataDir,
			Stdout:   os.Stdout,
			Log:      log.Named(Name),
		})
	}})
}

// routes is what mounting the HTTP port needs. Limits is optional: a test
// in this module may supply its own; otherwise the configured ones apply.
type routes struct {
	fx.In
	HTTP    *host.HTTP
	API     identityapi.API
	Config  config.Config
	Guard   *auth.Guard
	Limits  httpport.Limits `optional:"true"`
	Limiter *ratelimit.Limiter
	Log     *zap.Logger
}

func mount(r routes) {
	if r.Limits == (httpport.Limits{}) {
		r.Limits = httpport.Limits{Login: r.Config.LoginRate, Register: r.Config.RegisterRate, Window: time.Minute}
	}
	httpport.Mount(r.HTTP.API, r.API, r.Guard, r.Limiter, r.Limits, r.Log.Named(Name))
}
