package main

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/modmono/shop/internal/deploy"
	"github.com/modmono/shop/internal/deploy/deploytest"
	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/modkit"
)

// extract deploy writes an overlay anywhere that kustomize builds into the
// module's Deployment next to the monolith without it.
func TestDeployToAnotherFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "payments-overlay")
	var out bytes.Buffer
	if code := exitCode(run([]string{"deploy", "payments", "-o", dir}, &out, &out), &out); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	objs, err := deploytest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	procs, err := objs.Check(modules.Names())
	if err != nil {
		t.Fatal(err)
	}
	m := deploy.Module{Name: "payments"}
	mono, mod := procs[deploy.Monolith], procs[m.App()]
	if mod.Deployment == nil || !slices.Equal(mod.Config.Modules, []string{"payments"}) {
		t.Fatalf("no %s running payments alone: %v", m.App(), slices.Collect(maps.Keys(procs)))
	}
	if mono.Config.Local("payments") || !slices.Equal(mono.Config.Remotes["payments"], []string{m.URL()}) {
		t.Fatalf("the monolith runs payments or does not call it at %s: %v %v", m.URL(), mono.Config.Modules, mono.Config.Remotes)
	}
	// Running it again replaces its own files.
	out.Reset()
	if code := exitCode(run([]string{"deploy", "payments", "-o", dir}, &out, &out), &out); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out.String())
	}
}

// Without -o, the files go to the overlay checked in for the module: the
// plan matches the files there byte for byte.
func TestDeployDefaultFolder(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir, files, err := planDeploy(wd, "inventory", "")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs("../../deploy/k8s/overlays/extracted-inventory"); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	for _, p := range files.Paths() {
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || !bytes.Equal(got, files[p]) {
			t.Errorf("%s differs from what extract deploy writes there: go test ./internal/deploy -update", p)
		}
	}
}

func TestDeployRefusals(t *testing.T) {
	t.Parallel()
	mine := t.TempDir()
	foreign := []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if err := os.WriteFile(filepath.Join(mine, "kustomization.yaml"), foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no module", []string{"deploy"}, 2, "extract: deploy: missing MODULE\n\nUsage: extract deploy"},
		{"unknown module", []string{"deploy", "shipping"}, 1, `extract: deploy: unknown module "shipping"; the modules are: identity`},
		{"two modules", []string{"deploy", "payments", "catalog"}, 2, "one MODULE only"},
		{"inside the base", []string{"deploy", "payments", "-o", "../../deploy/k8s/base/payments"}, 1, "is inside"},
		{"a person's files", []string{"deploy", "payments", "-o", mine}, 1, "not written by extract deploy"},
		{"help", []string{"deploy", "--help"}, 0, "Usage: extract deploy MODULE [-o DIR]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := exitCode(run(tc.args, &stdout, &stderr), &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, stdout.String(), stderr.String())
			}
			if code == 1 && strings.Count(stderr.String(), "\n") != 1 {
				t.Fatalf("a failure is one line on stderr, got %q", stderr.String())
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(mine, "kustomization.yaml")); !bytes.Equal(got, foreign) {
		t.Fatal("a refused deploy changed the person's file")
	}
	if _, err := os.Stat("../../deploy/k8s/base/payments"); err == nil {
		t.Fatal("a refused deploy wrote into the base")
	}
}

// The Dockerfile builds a module's image with the build tags extract build
// uses, statically, as a numeric non-root user, without a HEALTHCHECK.
func TestDockerfileBuildsLikeExtractBuild(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	wd, _ := os.Getwd()
	p, err := planBuild(wd, "payments", "", false)
	if err != nil {
		t.Fatal(err)
	}
	tags := p.args[slices.Index(p.args, "-tags")+1]
	want := `tags="` + strings.ReplaceAll(tags, "payments", "${MODULE}") + `"`
	for _, s := range []string{want, `-tags "$tags"`, "CGO_ENABLED=0", "./cmd/app", "ARG MODULE=", "EXPOSE 8080", "USER 65532:65532", `ENTRYPOINT ["/app"]`} {
		if !strings.Contains(df, s) {
			t.Errorf("deploy/Dockerfile lacks %q", s)
		}
	}
	if regexp.MustCompile(`(?m)^\s*HEALTHCHECK`).MatchString(df) {
		t.Error("deploy/Dockerfile has a HEALTHCHECK: the probes of Kubernetes check health")
	}
	if from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1); len(from) < 2 || from[len(from)-1][1] != "${RUNTIME_IMAGE}" ||
		!regexp.MustCompile(`ARG RUNTIME_IMAGE=(gcr.io/distroless/static\S*:nonroot|scratch)`).MatchString(df) {
		t.Errorf("the final stage is not distroless static (nonroot) or scratch: %v", from)
	}
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{".git", ".data", ".env"} {
		if !slices.Contains(strings.Fields(string(ignore)), s) {
			t.Errorf(".dockerignore lacks %s", s)
		}
	}
}

// service is what the tests read of a compose service.
type service struct {
	Image       string            `json:"image"`
	Profiles    []string          `json:"profiles"`
	Command     string            `json:"command"`
	Environment map[string]string `json:"environment"`
	Build       *struct {
		Args map[string]string `json:"args"`
	} `json:"build"`
	DependsOn map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test []string `json:"test"`
	} `json:"healthcheck"`
	ReadOnly bool     `json:"read_only"`
	Ports    []string `json:"ports"` // short syntax, [HOST:]CONTAINER
}

func readCompose(t *testing.T, path string) map[string]service {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]service `json:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Services
}

// merge applies an override file's services on base as compose does for
// the keys used here: maps merge, other keys replace.
func merge(base, over map[string]service) map[string]service {
	out := maps.Clone(base)
	for name, o := range over {
		s, ok := out[name]
		if !ok {
			out[name] = o
			continue
		}
		s.Environment = maps.Clone(s.Environment)
		maps.Copy(s.Environment, o.Environment)
		s.DependsOn = maps.Clone(s.DependsOn)
		maps.Copy(s.DependsOn, o.DependsOn)
		out[name] = s
	}
	return out
}

// interpolation is ${NAME}, ${NAME:-default} or ${NAME:?error}.
var interpolation = regexp.MustCompile(`\$\{([A-Z_]+)(?::([-?])([^}]*))?\}`)

// checkCompose checks the app services of services that run with profile:
// each would start (process.Load, with stand-ins for the .env values),
// has no literal secret and exactly the secrets it reads, has an internal
// listener (APP_INTERNAL_ADDR) where each remote module is reached at a
// service running it, counts rate limits in a Redis of the file, and
// depends only on services that exist (with health checks where it waits
// for health). Only the entry process (the monolith's image) publishes a
// port, its public one.
func checkCompose(t *testing.T, services map[string]service, profile string) map[string]config.Config {
	t.Helper()
	active := map[string]service{}
	for name, s := range services {
		if len(s.Profiles) == 0 || slices.Contains(s.Profiles, profile) {
			active[name] = s
		}
	}
	cfgs := map[string]config.Config{}
	var published []string
	for name, s := range active {
		for dep, d := range s.DependsOn {
			switch t2, ok := active[dep]; {
			case !ok:
				t.Errorf("%s depends on %s, which does not run with profile %s", name, dep, profile)
			case d.Condition == "service_healthy" && t2.Healthcheck == nil:
				t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
			}
		}
		if s.Build == nil {
			continue
		}
		linked := modules.All
		if m := s.Build.Args["MODULE"]; m != "" {
			linked = slices.DeleteFunc(slices.Clone(modules.All), func(d modkit.Definition) bool { return d.Name != m })
		}
		if !s.ReadOnly {
			t.Errorf("%s: not read_only", name)
		}
		for k, v := range s.Environment {
			// An empty value unsets the variable, as with APP_JWT_PRIVATE_KEY
			// taken from the monolith when identity runs elsewhere.
			if deploytest.SecretName.MatchString(k) && v != "" && !strings.Contains(v, "${") {
				t.Errorf("%s: %s has a literal secret: take it from deploy/.env", name, k)
			}
		}
		getenv := func(k string) string {
			return interpolation.ReplaceAllStringFunc(s.Environment[k], func(m string) string {
				g := interpolation.FindStringSubmatch(m)
				if g[2] == "-" {
					return g[3]
				}
				return "stand-in-secret-0123456789abcdefghijklmnop"
			})
		}
		cfg, err := process.Load(getenv, linked)
		if err != nil {
			t.Errorf("%s would not start: %v", name, err)
			continue
		}
		// An empty value unsets a variable of the file below.
		for _, err := range deploytest.CheckSecrets(func(k string) bool { return s.Environment[k] != "" }, cfg.Secrets) {
			t.Errorf("%s: %v", name, err)
		}
		if cfg.InternalAddr == "" {
			t.Errorf("%s: no APP_INTERNAL_ADDR: /internal would be served on its public port", name)
		}
		if u, err := url.Parse(cfg.RedisURL); err != nil || cfg.RedisURL == "" {
			t.Errorf("%s: APP_REDIS_URL %q: want the Redis of the file, so every process counts rate limits in one budget", name, cfg.RedisURL)
		} else if _, ok := active[u.Hostname()]; !ok {
			t.Errorf("%s: APP_REDIS_URL names %s, which does not run with profile %s", name, u.Hostname(), profile)
		}
		for _, p := range s.Ports {
			container := p[strings.LastIndex(p, ":")+1:]
			if _, public, _ := net.SplitHostPort(cfg.HTTPAddr); container != public || s.Build.Args["MODULE"] != "" {
				t.Errorf("%s publishes %s: only the entry process (the monolith's image) publishes a port, its public one (%s)", name, p, cfg.HTTPAddr)
			}
			published = append(published, name)
		}
		cfgs[name] = cfg.Config
	}
	if len(published) != 1 {
		t.Errorf("profile %s: %v publish a port, want the entry process alone", profile, published)
	}
	for name, cfg := range cfgs {
		for m, urls := range cfg.Remotes {
			for _, u := range urls {
				pu, _ := url.Parse(u)
				target, ok := cfgs[pu.Hostname()]
				if !ok || !target.Local(m) {
					t.Errorf("%s: APP_REMOTE_%s=%s is not a service running %s", name, strings.ToUpper(m), u, m)
					continue
				}
				if _, internal, _ := net.SplitHostPort(target.InternalAddr); pu.Port() != internal {
					t.Errorf("%s: APP_REMOTE_%s=%s is not the internal listener of %s (APP_INTERNAL_ADDR=%s), the only one serving /internal", name, strings.ToUpper(m), u, pu.Hostname(), target.InternalAddr)
				}
			}
		}
	}
	return cfgs
}

func TestCompose(t *testing.T) {
	t.Parallel()
	services := readCompose(t, "../../deploy/compose.yaml")
	if pg := services["postgres"]; !strings.Contains(pg.Command, "wal_level=logical") || pg.Healthcheck == nil {
		t.Errorf("postgres: want wal_level=logical and a health check, got %+v", pg)
	}
	if services["rabbitmq"].Healthcheck == nil {
		t.Error("rabbitmq: no health check")
	}
	mono := checkCompose(t, services, "monolith")
	if cfg, ok := mono["app"]; !ok || !slices.Equal(cfg.Modules, modules.Names()) || cfg.Bus != "amqp" {
		t.Errorf("profile monolith: want app running every module on amqp, got %v", mono)
	}
	ext := checkCompose(t, services, "extracted")
	if len(ext) != 2 || !slices.Equal(ext["extracted-payments"].Modules, []string{"payments"}) || ext["app-extracted"].Local("payments") {
		t.Errorf("profile extracted: want payments alone and the monolith without it, got %v", ext)
	}
	if _, ok := services["postgres-extracted-payments"]; !ok {
		t.Error("profile extracted: payments has no database of its own")
	}
	// Each module's fragment, over the base with profile monolith, takes
	// the module out of app into a service of its own.
	for _, m := range modules.Names() {
		t.Run(m, func(t *testing.T) {
			frag := readCompose(t, filepath.Join("../../deploy/k8s/overlays/extracted-"+m, "compose.yaml"))
			cfgs := checkCompose(t, merge(services, frag), "monolith")
			if cfgs["app"].Local(m) || !slices.Equal(cfgs[m].Modules, []string{m}) {
				t.Errorf("app runs %v, %s runs %v", cfgs["app"].Modules, m, cfgs[m].Modules)
			}
			if _, ok := frag["postgres-"+m]; !ok {
				t.Errorf("no postgres-%s: %s needs its own database", m, m)
			}
			if got := frag[m].Environment[fmt.Sprintf("%s_DATABASE_URL", strings.ToUpper(m))]; !strings.Contains(got, "@postgres-"+m+":") {
				t.Errorf("%s_DATABASE_URL = %q, want its own postgres-%s", strings.ToUpper(m), got, m)
			}
		})
	}
}
