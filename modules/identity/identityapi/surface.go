package identityapi

import (
	"go.uber.org/fx"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/rpc"
)

// Name is the module's name, schema and configuration prefix.
const Name = "identity"

// Surface is what the rest of the system knows about identity, wherever it
// runs. Every other fact about the module's boundary is derived from it.
var Surface = modkit.Surface{
	Name:    Name,
	Summary: "users, credentials, roles and access tokens",
	Events:  []bus.Event{UserRegisteredV1{}, UserUpdatedV1{}},
	Routes:  []string{"/auth/*", "/users/*"},
	// Where identity is remote, user tokens are verified with the keys it
	// publishes (GET /.well-known/jwks.json), fetched through its client.
	Remote: fx.Options(rpc.Provide(Name, NewClient), rpc.ProvideKeys(Name)),
}
