package deploy_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/deploy"
	"github.com/modmono/shop/modules"
)

//go:generate go test . -run TestCheckedInFilesAreCurrent -update

var update = flag.Bool("update", false, "rewrite the generated overlays under deploy/k8s/overlays")

// root is the repository root, seen from this package's folder.
const root = "../.."

// checkedIn renders what the repository must hold: every module's overlay in
// its default folder, and the full overlay.
func checkedIn(t *testing.T) map[string]deploy.Files {
	t.Helper()
	all := deploy.Facts(modules.All)
	out := map[string]deploy.Files{}
	for _, m := range all {
		dir := deploy.OverlayDir(m.Name)
		files, err := deploy.Overlay(all, m.Name, "../../base", dir+"/compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		out[dir] = files
	}
	full, err := deploy.Full(all)
	if err != nil {
		t.Fatal(err)
	}
	out[deploy.FullDir] = full
	return out
}

// The overlays under deploy/k8s/overlays/extracted-* and full are the
// generator's output: a change to a module's facts or to the templates
// must be followed by go test ./internal/deploy -update (or go generate).
func TestCheckedInFilesAreCurrent(t *testing.T) {
	for dir, files := range checkedIn(t) {
		abs := filepath.Join(root, filepath.FromSlash(dir))
		if *update {
			if err := deploy.Write(abs, files); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, p := range files.Paths() {
			got, err := os.ReadFile(filepath.Join(abs, filepath.FromSlash(p)))
			if err != nil || !bytes.Equal(got, files[p]) {
				t.Errorf("%s/%s is stale or missing: run go test ./internal/deploy -update", dir, p)
			}
		}
	}
}

// The base path of an overlay is relative to its folder, wherever it is,
// except inside the base itself.
func TestBaseFrom(t *testing.T) {
	t.Parallel()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, tc := range []struct {
		name, dir, want, err string
	}{
		{"default folder", filepath.Join(root, "deploy/k8s/overlays/extracted-payments"), "../../base", ""},
		{"repository root", root, "deploy/k8s/base", ""},
		{"outside the repository", tmp, "", ""},
		{"inside the base", filepath.Join(root, "deploy/k8s/base/x"), "", "is inside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deploy.BaseFrom(root, tc.dir)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("BaseFrom = %q, %v; want an error with %q", got, err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tc.want != "" && got != tc.want:
				t.Fatalf("BaseFrom = %q, want %q", got, tc.want)
			}
			// Whatever it is, it leads to the base.
			if filepath.Clean(filepath.Join(tc.dir, got)) != filepath.Clean(filepath.Join(abs, "deploy/k8s/base")) &&
				filepath.Clean(filepath.Join(tc.dir, got)) != filepath.Clean(filepath.Join(root, "deploy/k8s/base")) {
				t.Fatalf("%s + %s does not lead to the base", tc.dir, got)
			}
		})
	}
}

// Write replaces its own files but never a person's, and then writes nothing.
func TestWriteKeepsOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := deploy.Files{"a.yaml": []byte(deploy.GeneratedMarker + " x\n"), "sub/b.yaml": []byte(deploy.GeneratedMarker + " y\n")}
	if err := deploy.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if err := deploy.Write(dir, files); err != nil {
		t.Fatalf("rewriting its own files: %v", err)
	}
	mine := []byte("kind: Kustomization\n")
	if err := os.WriteFile(filepath.Join(dir, "sub/b.yaml"), mine, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "a.yaml"))
	if err := deploy.Write(dir, files); err == nil || !strings.Contains(err.Error(), "not written by extract deploy") {
		t.Fatalf("Write over a person's file: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "sub/b.yaml")); !bytes.Equal(got, mine) {
		t.Fatal("the person's file was replaced")
	}
	if _, err := os.Stat(filepath.Join(dir, "a.yaml")); err == nil {
		t.Fatal("a refused Write wrote another file")
	}
}

// A module's secrets are those its settings read: identity's, and the
// process's own apart.
func TestFactsSecrets(t *testing.T) {
	t.Parallel()
	for _, m := range deploy.Facts(modules.All) {
		want := []string(nil)
		if m.Name == "identity" {
			want = []string{"APP_ADMIN_PASSWORD", "APP_JWT_PRIVATE_KEY"}
		}
		if !slices.Equal(m.Secrets, want) {
			t.Errorf("%s: Secrets = %v, want %v", m.Name, m.Secrets, want)
		}
	}
	if got := deploy.ProcessSecrets(); !slices.Equal(got, []string{"APP_JWT_SECRET"}) {
		t.Errorf("ProcessSecrets = %v, want [APP_JWT_SECRET]", got)
	}
}

// Every module's overlay takes its facts: its name everywhere, a remote
// for every other module, and an unknown module is an error.
func TestOverlayFacts(t *testing.T) {
	t.Parallel()
	all := []deploy.Module{
		{Name: "alpha", Secrets: []string{"SHARED_SECRET"}},
		{Name: "beta", Calls: []string{"alpha"}, Secrets: []string{"BETA_SECRET", "SHARED_SECRET"}},
	}
	files, err := deploy.Overlay(all, "beta", "../../base", "compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]string{
		// The monolith loses beta's own secret, and keeps the one alpha reads too.
		"kustomization.yaml":        {"- ../../base", "APP_MODULES=alpha\n", "APP_REMOTE_BETA=http://shop-beta:8081", "- name: BETA_SECRET\n                    $patch: delete"},
		"module/kustomization.yaml": {"APP_MODULES=beta\n", "APP_REMOTE_ALPHA=http://shop:8081", "APP_INTERNAL_ADDR=:8081"},
		"module/deployment.yaml":    {"key: BETA_DATABASE_URL", `shop.modmono.dev/calls: "alpha"`, "image: shop-beta", "key: APP_JWT_SECRET", "key: BETA_SECRET", "key: SHARED_SECRET"},
		"compose.yaml":              {"MODULE: beta", "APP_REMOTE_BETA: http://beta:8081", "BETA_DATABASE_URL: postgres://", "BETA_SECRET: \"\"", "BETA_SECRET: ${BETA_SECRET:?"},
	} {
		for _, w := range want {
			if !strings.Contains(string(files[path]), w) {
				t.Errorf("%s lacks %q:\n%s", path, w, files[path])
			}
		}
	}
	if s := string(files["kustomization.yaml"]) + string(files["compose.yaml"]); strings.Contains(s, "name: SHARED_SECRET") || strings.Contains(s, "SHARED_SECRET: \"\"") {
		t.Errorf("the monolith loses SHARED_SECRET, which alpha still reads:\n%s", s)
	}
	if d := string(files["module/deployment.yaml"]); strings.Contains(d, "APP_ADMIN_PASSWORD") {
		t.Errorf("beta's Deployment is given a secret it does not read:\n%s", d)
	}
	if _, err := deploy.Overlay(all, "gamma", "../../base", ""); err == nil {
		t.Error("an unknown module rendered")
	}
	if _, err := deploy.Overlay([]deploy.Module{{Name: "a", Calls: []string{"zeta"}}}, "a", "../../base", ""); err == nil {
		t.Error("a call to an unknown module rendered")
	}
}
