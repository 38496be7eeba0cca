package config_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modmono/shop/platform/config"
)

var known = []string{"catalog", "inventory"}

func load(env map[string]string) (config.Config, error) {
	return config.Load(func(k string) string { return env[k] }, known)
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.Bus != "gochannel" || c.Env != "dev" ||
		c.ShutdownGrace != 10*time.Second || len(c.Modules) != 2 ||
		c.AMQPURL != "amqp://guest:guest@127.0.0.1:5672/" || c.LogFormat != "console" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env   map[string]string
		check func(config.Config) bool
	}{
		"one module extracted": {
			env: map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp", "APP_REMOTE_INVENTORY": "http://10.0.0.1:8081, http://10.0.0.2:8081"},
			check: func(c config.Config) bool {
				return c.Local("catalog") && !c.Local("inventory") && len(c.Remotes["inventory"]) == 2
			},
		},
		"all but the module routed to its own binary": {
			env: map[string]string{"APP_BUS": "amqp", "APP_REMOTE_INVENTORY": "http://i:1"},
			check: func(c config.Config) bool {
				return c.Local("catalog") && !c.Local("inventory") && len(c.Modules) == 1 && c.Remotes["inventory"][0] == "http://i:1"
			},
		},
		"gateway only": {
			env: map[string]string{"APP_MODULES": "none", "APP_BUS": "amqp",
				"APP_REMOTE_CATALOG": "http://c:1", "APP_REMOTE_INVENTORY": "http://i:1"},
			check: func(c config.Config) bool { return len(c.Modules) == 0 },
		},
		"module database": {
			env:   map[string]string{"INVENTORY_DATABASE_URL": "postgres://u@h:5432/inv"},
			check: func(c config.Config) bool { return c.DatabaseURLFor("inventory") == "postgres://u@h:5432/inv" },
		},
		"tracing exported": {
			env:   map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			check: func(c config.Config) bool { return c.TraceExport && !c.TracingOff },
		},
		"tracing exported, traces only": {
			env:   map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
			check: func(c config.Config) bool { return c.TraceExport },
		},
		"tracing disabled": {
			env:   map[string]string{"OTEL_SDK_DISABLED": "TRUE"},
			check: func(c config.Config) bool { return c.TracingOff && !c.TraceExport },
		},
		"tracing disabled, not": {
			env:   map[string]string{"OTEL_SDK_DISABLED": "yes please"}, // only "true" is true
			check: func(c config.Config) bool { return !c.TracingOff },
		},
		"trusted proxies and a shared rate-limit store": {
			env: map[string]string{"APP_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32, 10.1.2.3/8", "APP_REDIS_URL": "redis://:pw@127.0.0.1:6379/2"},
			check: func(c config.Config) bool {
				return fmt.Sprint(c.TrustedProxies) == "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32 10.0.0.0/8]" && c.RedisURL == "redis://:pw@127.0.0.1:6379/2"
			},
		},
		"no trusted proxies, no shared store by default": {
			env:   nil,
			check: func(c config.Config) bool { return c.TrustedProxies == nil && c.RedisURL == "" },
		},
		"prod with everything set": {
			env: map[string]string{"APP_ENV": "prod", "DATABASE_URL": "postgres://u@h/db",
				"APP_JWT_SECRET": strings.Repeat("s", 32), "APP_ADMIN_PASSWORD": "a-long-password"},
			check: func(c config.Config) bool { return c.LogFormat == "json" },
		},
		"prod, pprof on loopback": {
			env: map[string]string{"APP_ENV": "prod", "DATABASE_URL": "postgres://u@h/db", "APP_DEBUG_ADDR": "127.0.0.1:6060",
				"APP_JWT_SECRET": strings.Repeat("s", 32), "APP_ADMIN_PASSWORD": "a-long-password"},
			check: func(c config.Config) bool { return c.DebugAddr == "127.0.0.1:6060" },
		},
		"internal listener": {
			env:   map[string]string{"APP_INTERNAL_ADDR": ":8081"},
			check: func(c config.Config) bool { return c.InternalAddr == ":8081" && c.HTTPAddr == ":8080" },
		},
		"a connection budget and a role prefix": {
			env:   map[string]string{"APP_DB_MAX_CONNS": "7", "APP_DB_ROLE_PREFIX": "shop_eu_"},
			check: func(c config.Config) bool { return c.DBMaxConns == 7 && c.DBRolePrefix == "shop_eu_" },
		},
		"default connection budget, role prefix from the database": {
			env:   nil,
			check: func(c config.Config) bool { return c.DBMaxConns == config.DefaultDBMaxConns && c.DBRolePrefix == "" },
		},
		"a gateway needs no connection": {
			env: map[string]string{"APP_MODULES": "none", "APP_BUS": "amqp", "APP_DB_MAX_CONNS": "1",
				"APP_REMOTE_CATALOG": "http://c:1", "APP_REMOTE_INVENTORY": "http://i:1"},
			check: func(c config.Config) bool { return c.DBMaxConns == 1 },
		},
		"dev, pprof anywhere": {
			env:   map[string]string{"APP_DEBUG_ADDR": ":6060"},
			check: func(c config.Config) bool { return c.DebugAddr == ":6060" },
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := load(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("%+v", c)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"bad bus":                     {map[string]string{"APP_BUS": "kafka"}, "APP_BUS"},
		"bad duration":                {map[string]string{"APP_SHUTDOWN_TIMEOUT": "soon"}, "APP_SHUTDOWN_TIMEOUT"},
		"negative duration":           {map[string]string{"APP_SHUTDOWN_TIMEOUT": "-1s"}, "must be positive"},
		"short dead letter retention": {map[string]string{"APP_DEAD_LETTER_RETENTION": "30s"}, "APP_DEAD_LETTER_RETENTION 30s: want at least 1h"},
		"bad number":                  {map[string]string{"APP_RATE_LIMIT_LOGIN": "0"}, "APP_RATE_LIMIT_LOGIN \"0\": want a whole number of at least 1"},
		"unknown module":              {map[string]string{"APP_MODULES": "billing"}, "unknown module"},
		"missing remote":              {map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp"}, "APP_REMOTE_INVENTORY"},
		"only remotes left":           {map[string]string{"APP_BUS": "amqp", "APP_REMOTE_CATALOG": "http://c:1", "APP_REMOTE_INVENTORY": "http://i:1"}, "would run none"},
		"local and remote":            {map[string]string{"APP_MODULES": "catalog,inventory", "APP_BUS": "amqp", "APP_REMOTE_CATALOG": "http://x:1"}, "choose one"},
		"split needs amqp":            {map[string]string{"APP_MODULES": "catalog", "APP_REMOTE_INVENTORY": "http://x:1"}, "APP_BUS=amqp"},
		"bad remote":                  {map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp", "APP_REMOTE_INVENTORY": "ftp://x"}, "not an http"},
		"remote with credentials":     {map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp", "APP_REMOTE_INVENTORY": "http://u:secret@x:1"}, "without credentials"},
		"remote with a path":          {map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp", "APP_REMOTE_INVENTORY": "http://x:1/api"}, "without credentials, path"},
		"remote is this process": {map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp", "APP_HTTP_ADDR": ":9000",
			"APP_REMOTE_INVENTORY": "http://127.0.0.1:9000"}, "own address"},
		"remote is this process's internal listener": {map[string]string{"APP_MODULES": "catalog", "APP_BUS": "amqp", "APP_INTERNAL_ADDR": ":9001",
			"APP_REMOTE_INVENTORY": "http://localhost:9001"}, "own address (APP_INTERNAL_ADDR)"},
		"bad internal address":      {map[string]string{"APP_INTERNAL_ADDR": "internal"}, "APP_INTERNAL_ADDR"},
		"internal on the same port": {map[string]string{"APP_INTERNAL_ADDR": "127.0.0.1:8080"}, "another port than APP_HTTP_ADDR"},
		"bad address":               {map[string]string{"APP_HTTP_ADDR": "8080"}, "APP_HTTP_ADDR"},
		"bad database url":          {map[string]string{"DATABASE_URL": "postgres://%zz"}, "DATABASE_URL"},
		"prod without secrets":      {map[string]string{"APP_ENV": "prod"}, "APP_JWT_SECRET"},
		"bad env":                   {map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		"prod, pprof on every interface": {map[string]string{"APP_ENV": "prod", "APP_JWT_SECRET": strings.Repeat("s", 32),
			"APP_ADMIN_PASSWORD": "a-long-password", "DATABASE_URL": "postgres://u@h/shop", "APP_DEBUG_ADDR": ":6060"}, "APP_DEBUG_ADDR"},
		"prod, pprof on a public address": {map[string]string{"APP_ENV": "prod", "APP_JWT_SECRET": strings.Repeat("s", 32),
			"APP_ADMIN_PASSWORD": "a-long-password", "DATABASE_URL": "postgres://u@h/shop", "APP_DEBUG_ADDR": "10.0.0.7:6060"}, "loopback"},
		"prod, pprof on a host name": {map[string]string{"APP_ENV": "prod", "APP_JWT_SECRET": strings.Repeat("s", 32),
			"APP_ADMIN_PASSWORD": "a-long-password", "DATABASE_URL": "postgres://u@h/shop", "APP_DEBUG_ADDR": "debug.internal:6060"}, "loopback"},
		"bad trusted proxy": {map[string]string{"APP_TRUSTED_PROXIES": "10.0.0.0/8,lb.internal"}, `"lb.internal" is neither`},
		"trusting everyone": {map[string]string{"APP_TRUSTED_PROXIES": "0.0.0.0/0"}, "would trust every address"},
		"connection budget below the minimum": {map[string]string{"APP_DB_MAX_CONNS": "6"},
			"APP_DB_MAX_CONNS 6: the 2 module(s) of this process need at least 7 connections"},
		"connection budget not a number": {map[string]string{"APP_DB_MAX_CONNS": "lots"}, "APP_DB_MAX_CONNS"},
		"role prefix with capitals":      {map[string]string{"APP_DB_ROLE_PREFIX": "Shop_"}, "APP_DB_ROLE_PREFIX"},
		"role prefix too long":           {map[string]string{"APP_DB_ROLE_PREFIX": strings.Repeat("r", 33)}, "at most 32"},
		"bad redis url":                  {map[string]string{"APP_REDIS_URL": "http://secret@127.0.0.1:6379"}, "APP_REDIS_URL: want redis://"},
		"prod, a module without database": {map[string]string{"APP_ENV": "prod", "APP_JWT_SECRET": strings.Repeat("s", 32),
			"APP_ADMIN_PASSWORD": "a-long-password", "INVENTORY_DATABASE_URL": "postgres://u@h/inv"}, "CATALOG_DATABASE_URL"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := load(tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// A binary that links no module (a pure gateway) runs none with the
// default APP_MODULES=all; one that links payments refuses other modules.
func TestLinkedModules(t *testing.T) {
	t.Parallel()
	remotes := map[string]string{"APP_BUS": "amqp"}
	for _, m := range known {
		remotes["APP_REMOTE_"+strings.ToUpper(m)] = "http://" + m + ":8080"
	}
	c, err := config.Load(func(k string) string { return remotes[k] }, known, []string{}...)
	if err != nil || len(c.Modules) != 0 {
		t.Fatalf("gateway binary: %v %v", c.Modules, err)
	}
	env := map[string]string{"APP_MODULES": "catalog"}
	if _, err := config.Load(func(k string) string { return env[k] }, known, "inventory"); err == nil ||
		!strings.Contains(err.Error(), "not in this binary") {
		t.Fatalf("a module the binary lacks: %v", err)
	}
}

// The platform reads process settings only: a module's own settings (the
// admin account of identity, the payment timeout of ordering and payments,
// demo seeding) are read and checked by the module, where it runs. So a
// production process is not refused for lacking another module's secret.
func TestModuleSettingsAreNotThePlatforms(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ENV": "prod", "APP_JWT_SECRET": strings.Repeat("s", 32), "DATABASE_URL": "postgres://u@h/shop",
		"APP_PAYMENT_TIMEOUT": "soon", "APP_SEED_DEMO": "perhaps", "APP_ADMIN_EMAIL": "nobody"}
	if _, err := load(env); err != nil {
		t.Fatalf("a process refused for module settings: %v", err)
	}
}

// A Reader returns defaults for bad values and keeps every problem, each
// once, so that the process settings and those of every module it runs are
// reported together; a secret is required in prod only, and never echoed.
func TestReaderCollectsEveryProblem(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ENV": "prod", "D": "soon", "I": "many", "B": "perhaps", "S": "hunter2"}
	r := config.NewReader(func(k string) string { return env[k] })
	if d := r.Duration("D", time.Second); d != time.Second {
		t.Errorf("bad duration: got %s, want the default", d)
	}
	r.Duration("D", time.Second) // a second module reading the same variable
	if n := r.Int("I", 3); n != 3 {
		t.Errorf("bad number: got %d, want the default", n)
	}
	if b := r.Bool("B", true); !b {
		t.Error("bad bool: want the default")
	}
	if s := r.Secret("S", 12); s != "hunter2" {
		t.Errorf("secret %q", s)
	}
	r.Secret("UNSET", 1)
	r.Invalid("X breaks a rule")
	if !r.Prod() || r.String("UNSET", "def") != "def" {
		t.Error("Prod or a default string")
	}
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{"invalid configuration:", `D "soon"`, `I "many"`, `B "perhaps"`,
		"APP_ENV=prod: S must be set, at least 12 bytes", "APP_ENV=prod: UNSET must be set", "X breaks a rule"}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if n := strings.Count(err.Error(), `D "soon"`); n != 1 {
		t.Errorf("the bad duration is reported %d times, want once:\n%v", n, err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error repeats a secret:\n%v", err)
	}
	if config.NewReader(func(string) string { return "" }).Err() != nil {
		t.Error("an empty environment has problems")
	}
	if got := r.Secrets(); !slices.Equal(got, []string{"S", "UNSET"}) {
		t.Errorf("Secrets() = %v, want the names read by Secret, each once: [S UNSET]", got)
	}
}

// The process settings declare one secret, APP_JWT_SECRET: every process
// reads it, and nothing else Read reads is a secret of the process.
func TestProcessSecrets(t *testing.T) {
	t.Parallel()
	r := config.NewReader(func(k string) string { return map[string]string{"APP_ENV": "prod"}[k] })
	config.Read(r, []string{"alpha"})
	if got := r.Secrets(); !slices.Equal(got, []string{"APP_JWT_SECRET"}) {
		t.Errorf("Secrets() = %v, want [APP_JWT_SECRET]", got)
	}
}
