package process_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/modkit"
)

// prodRunning is the environment of a production process that runs module
// alone, every other module remote: everything the platform requires, and
// no module's own setting.
func prodRunning(module string) map[string]string {
	env := map[string]string{
		"APP_ENV": "prod", "APP_BUS": "amqp", "AMQP_URL": "amqp://shop:pw@rabbitmq:5672/",
		"DATABASE_URL": "postgres://shop:pw@postgres:5432/shop", "APP_JWT_SECRET": strings.Repeat("s", 32),
		"APP_MODULES": module,
	}
	for _, m := range modules.Names() {
		if m != module {
			env["APP_REMOTE_"+strings.ToUpper(m)] = "http://" + m + ":8080"
		}
	}
	return env
}

func load(env map[string]string, linked []modkit.Definition) (process.Config, error) {
	return process.Load(func(k string) string { return env[k] }, linked)
}

// only returns the definition of module, as its extracted binary links it.
func only(module string) []modkit.Definition {
	return slices.DeleteFunc(slices.Clone(modules.All), func(d modkit.Definition) bool { return d.Name != module })
}

// A module's settings are checked only where it runs: an extracted payments
// process starts without identity's admin password, and one that runs
// identity refuses to start without it.
func TestModuleSettingsOnlyWhereTheModuleRuns(t *testing.T) {
	t.Parallel()
	for _, linked := range [][]modkit.Definition{modules.All, only("payments")} {
		if _, err := load(prodRunning("payments"), linked); err != nil {
			t.Errorf("payments in prod, %d modules linked: %v", len(linked), err)
		}
	}
	_, err := load(prodRunning("identity"), modules.All)
	if err == nil || !strings.Contains(err.Error(), "APP_ENV=prod: APP_ADMIN_PASSWORD must be set, at least 12 bytes") {
		t.Fatalf("identity in prod without APP_ADMIN_PASSWORD: %v", err)
	}
	env := prodRunning("identity")
	env["APP_ADMIN_PASSWORD"] = "a-long-admin-password"
	env["APP_JWT_PRIVATE_KEY"] = "a stand-in: parsed at start, not here"
	if _, err := load(env, only("identity")); err != nil {
		t.Fatalf("identity in prod with its secrets: %v", err)
	}
}

// A process's Secrets are what it reads through config.Reader.Secret: the
// process's APP_JWT_SECRET everywhere, identity's secrets where identity
// runs and nowhere else.
func TestSecretsAreThoseRead(t *testing.T) {
	t.Parallel()
	for module, want := range map[string][]string{
		"identity": {"APP_JWT_SECRET", "APP_ADMIN_PASSWORD", "APP_JWT_PRIVATE_KEY"},
		"payments": {"APP_JWT_SECRET"},
	} {
		env := prodRunning(module)
		env["APP_ADMIN_PASSWORD"] = "a-long-admin-password"
		env["APP_JWT_PRIVATE_KEY"] = "a stand-in: parsed at start, not here"
		cfg, err := load(env, only(module))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.Secrets, want) {
			t.Errorf("%s alone: Secrets = %v, want %v", module, cfg.Secrets, want)
		}
	}
}

// APP_PAYMENT_TIMEOUT is read by ordering and by payments: a bad value
// stops the processes that run either, once, and no other.
func TestPaymentTimeoutIsCheckedWhereOrderingOrPaymentsRuns(t *testing.T) {
	t.Parallel()
	for _, module := range modules.Names() {
		env := prodRunning(module)
		env["APP_ADMIN_PASSWORD"] = "a-long-admin-password"
		env["APP_PAYMENT_TIMEOUT"] = "soon"
		_, err := load(env, modules.All)
		reported := err != nil && strings.Contains(err.Error(), `APP_PAYMENT_TIMEOUT "soon"`)
		if want := module == "ordering" || module == "payments"; reported != want {
			t.Errorf("%s alone: APP_PAYMENT_TIMEOUT reported %v, want %v (%v)", module, reported, want, err)
		}
	}
	env := map[string]string{"APP_PAYMENT_TIMEOUT": "-1s"}
	_, err := load(env, modules.All)
	if err == nil || strings.Count(err.Error(), "APP_PAYMENT_TIMEOUT must be positive") != 1 {
		t.Fatalf("the monolith, which runs both: want the problem once, got %v", err)
	}
}

// The process settings and those of the modules are checked together, so
// one start lists every problem.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_BUS": "pigeon", "APP_ADMIN_EMAIL": "nobody", "APP_PAYMENT_TIMEOUT": "soon", "APP_SEED_DEMO": "perhaps"}
	_, err := load(env, modules.All)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"invalid configuration:", "APP_BUS", "APP_ADMIN_EMAIL", "APP_PAYMENT_TIMEOUT", "APP_SEED_DEMO"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if n := strings.Count(err.Error(), "invalid configuration"); n != 1 {
		t.Errorf("%d headers, want one:\n%v", n, err)
	}
}

// Demo data is seeded where catalog runs: by default in dev, not in prod.
func TestSeedDemoWhereCatalogRuns(t *testing.T) {
	t.Parallel()
	dev, err := load(nil, modules.All)
	if err != nil || !dev.SeedDemo {
		t.Errorf("dev monolith: seed %v, %v", dev.SeedDemo, err)
	}
	prod := prodRunning("catalog")
	if c, err := load(prod, modules.All); err != nil || c.SeedDemo {
		t.Errorf("prod catalog: seed %v, %v", c.SeedDemo, err)
	}
	payments := maps.Clone(prodRunning("payments"))
	payments["APP_SEED_DEMO"] = "perhaps" // not read: payments seeds nothing
	if c, err := load(payments, modules.All); err != nil || c.SeedDemo {
		t.Errorf("prod payments: seed %v, %v", c.SeedDemo, err)
	}
}
