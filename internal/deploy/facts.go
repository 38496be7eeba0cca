package deploy

import (
	"slices"
	"strings"

	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/modkit"
)

// Module is what the deployment files of one module are made from.
type Module struct {
	Name  string   // lower case, e.g. "payments"
	Calls []string // the modules whose API it calls synchronously
	// Secrets are the secrets its own settings read (config.Reader.Secret),
	// e.g. identity's APP_ADMIN_PASSWORD: given to the process running it,
	// and to no other.
	Secrets []string
}

// Facts returns the deployment facts of defs, in their order (start-up
// order). It is the only reader of modkit.Definition in this package, and
// it reads Name, Calls and the secrets Settings reads.
func Facts(defs []modkit.Definition) []Module {
	out := make([]Module, len(defs))
	for i, d := range defs {
		out[i] = Module{Name: d.Name, Calls: slices.Clone(d.Calls)}
		if d.Settings != nil {
			r := prodReader()
			d.Settings(r)
			out[i].Secrets = r.Secrets()
		}
	}
	return out
}

// ProcessSecrets are the secrets every process reads, whatever modules it
// runs (platform/config's own: APP_JWT_SECRET).
func ProcessSecrets() []string {
	r := prodReader()
	config.Read(r, nil)
	return r.Secrets()
}

// prodReader reads an empty production environment: what it reads is all
// that matters here, and every deployed process runs with APP_ENV=prod.
func prodReader() *config.Reader {
	return config.NewReader(func(name string) string {
		if name == "APP_ENV" {
			return "prod"
		}
		return ""
	})
}

// Env is the module's environment variable infix: its name in upper case.
func (m Module) Env() string { return strings.ToUpper(m.Name) }

// DatabaseVar is the variable (and the key of the Secret shop-secrets)
// holding the module's own database URL, e.g. PAYMENTS_DATABASE_URL.
func (m Module) DatabaseVar() string { return m.Env() + "_DATABASE_URL" }

// RemoteVar is the variable telling other processes where the module runs,
// e.g. APP_REMOTE_PAYMENTS.
func (m Module) RemoteVar() string { return "APP_REMOTE_" + m.Env() }

// App is the name of the module's Deployment, Service, HPA, PDB and
// NetworkPolicy, and of its image: shop-<module>.
func (m Module) App() string { return Monolith + "-" + m.Name }

// URL is the module's base URL inside the namespace for the other
// processes: its Service's internal port.
func (m Module) URL() string { return "http://" + m.App() + ":" + InternalPort }

// Monolith is the name of the monolith's (or the gateway's) Deployment,
// Service and image in deploy/k8s/base.
const Monolith = "shop"

// MonolithURL is the monolith's base URL inside the namespace for the
// other processes (its Service's internal port).
const MonolithURL = "http://" + Monolith + ":" + InternalPort

// InternalPort is the port of every process's internal listener, in its
// pods and on its Service (APP_INTERNAL_ADDR: everything, /internal
// included; only the shop's own pods may reach it), which every
// APP_REMOTE_* names. The public port, 8080 (APP_HTTP_ADDR), answers 404 for
// /internal.
const InternalPort = "8081"

// Paths inside the repository, slash-separated.
const (
	BaseDir     = "deploy/k8s/base"
	OverlaysDir = "deploy/k8s/overlays"
	FullDir     = OverlaysDir + "/full"
)

// OverlayDir is the default folder of module's overlay in the repository.
func OverlayDir(module string) string { return OverlaysDir + "/extracted-" + module }

// find returns the module named name in all.
func find(all []Module, name string) (Module, bool) {
	i := slices.IndexFunc(all, func(m Module) bool { return m.Name == name })
	if i < 0 {
		return Module{}, false
	}
	return all[i], true
}

// calledBy returns the names of the modules of all that call m.
func calledBy(all []Module, m Module) []string {
	var out []string
	for _, o := range all {
		if slices.Contains(o.Calls, m.Name) {
			out = append(out, o.Name)
		}
	}
	return out
}
