// Package k8s_test builds every kustomize overlay of deploy/k8s and checks
// the result (SPEC §10): objects decoded strictly into the Kubernetes API
// types, the deployment rules of internal/deploy/deploytest, and what each
// overlay is for.
package k8s_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/deploy"
	"github.com/modmono/shop/internal/deploy/deploytest"
	"github.com/modmono/shop/modules"
)

func build(t *testing.T, dir string) (*deploytest.Objects, map[string]deploytest.Process) {
	t.Helper()
	objs, err := deploytest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	procs, err := objs.Check(modules.Names())
	if err != nil {
		t.Fatalf("%s:\n%v", dir, err)
	}
	return objs, procs
}

// Every overlay folder is one this test knows, so a new one is not left
// unchecked.
func TestEveryOverlayIsTested(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"full", "monolith"}
	for _, m := range modules.Names() {
		want = append(want, "extracted-"+m)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("overlays = %v, want %v", got, want)
	}
}

func TestBase(t *testing.T) {
	t.Parallel()
	_, procs := build(t, "base")
	if p := procs[deploy.Monolith]; len(procs) != 1 || len(p.Config.Modules) != len(modules.Names()) {
		t.Fatalf("the base runs %d processes; want the monolith with every module", len(procs))
	}
}

func TestMonolith(t *testing.T) {
	t.Parallel()
	_, procs := build(t, "overlays/monolith")
	p, ok := procs[deploy.Monolith]
	if len(procs) != 1 || !ok || !slices.Equal(p.Config.Modules, modules.Names()) {
		t.Fatalf("want one Deployment %s running every module, got %v", deploy.Monolith, procs)
	}
}

// Each extracted-<module> overlay runs the module in its own Deployment on
// its own database, and the monolith without it, calling it at
// APP_REMOTE_<MODULE> through its Service.
func TestExtracted(t *testing.T) {
	t.Parallel()
	for _, m := range deploy.Facts(modules.All) {
		t.Run(m.Name, func(t *testing.T) {
			t.Parallel()
			CheckExtracted(t, filepath.Join("overlays", "extracted-"+m.Name), m)
		})
	}
}

// CheckExtracted checks the overlay in dir that extracts m.
func CheckExtracted(t *testing.T, dir string, m deploy.Module) {
	t.Helper()
	_, procs := build(t, dir)
	if len(procs) != 2 {
		t.Fatalf("%d Deployments, want the monolith and %s", len(procs), m.App())
	}
	mono, mod := procs[deploy.Monolith], procs[m.App()]
	if mod.Deployment == nil {
		t.Fatalf("no Deployment %s", m.App())
	}
	if mono.Config.Local(m.Name) {
		t.Errorf("the monolith still runs %s (APP_MODULES)", m.Name)
	}
	if got := mono.Config.Remotes[m.Name]; !slices.Equal(got, []string{m.URL()}) {
		t.Errorf("the monolith's %s = %v, want %s", m.RemoteVar(), got, m.URL())
	}
	if want := slices.DeleteFunc(modules.Names(), func(n string) bool { return n == m.Name }); !slices.Equal(mono.Config.Modules, want) {
		t.Errorf("the monolith runs %v, want %v", mono.Config.Modules, want)
	}
	if !slices.Equal(mod.Config.Modules, []string{m.Name}) {
		t.Errorf("%s runs %v, want %s alone", m.App(), mod.Config.Modules, m.Name)
	}
	if v := mod.Env[m.DatabaseVar()]; v.Secret == nil {
		t.Errorf("%s gets no %s from the Secret", m.App(), m.DatabaseVar())
	}
	if _, ok := mod.Env["DATABASE_URL"]; ok {
		t.Errorf("%s is given the monolith's DATABASE_URL: it has its own database", m.App())
	}
	if got := mod.Deployment.Annotations["shop.modmono.dev/calls"]; got != strings.Join(m.Calls, ",") {
		t.Errorf("%s calls annotation %q, want %q", m.App(), got, strings.Join(m.Calls, ","))
	}
}

// The full overlay runs every module on its own and the base's Deployment
// as a pure gateway that holds no database URL.
func TestFull(t *testing.T) {
	t.Parallel()
	_, procs := build(t, "overlays/full")
	gw := procs[deploy.Monolith]
	if gw.Deployment == nil || len(gw.Config.Modules) != 0 {
		t.Fatalf("want the gateway %s with APP_MODULES=none, got %+v", deploy.Monolith, gw.Config.Modules)
	}
	for _, k := range []string{"DATABASE_URL", "APP_ADMIN_PASSWORD"} {
		if _, ok := gw.Env[k]; ok {
			t.Errorf("the gateway is given %s, which it does not use", k)
		}
	}
	for _, m := range deploy.Facts(modules.All) {
		p := procs[m.App()]
		if p.Deployment == nil || !slices.Equal(p.Config.Modules, []string{m.Name}) {
			t.Errorf("no Deployment %s running %s alone", m.App(), m.Name)
			continue
		}
		// Every remote of every process is the module's own Service:
		// deploytest.Check has verified that each URL's Service runs it.
		for o, urls := range p.Config.Remotes {
			if want := (deploy.Module{Name: o}).URL(); !slices.Equal(urls, []string{want}) {
				t.Errorf("%s: APP_REMOTE_%s = %v, want %s", m.App(), strings.ToUpper(o), urls, want)
			}
		}
	}
	if len(procs) != len(modules.Names())+1 {
		t.Errorf("%d Deployments, want one per module and the gateway", len(procs))
	}
}
