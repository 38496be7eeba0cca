package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/modmono/shop/internal/deploy"
	"github.com/modmono/shop/modules"
)

const deployUsage = `Usage: extract deploy MODULE [-o DIR]

Writes the files that deploy MODULE in its own process next to the monolith:
  DIR/kustomization.yaml  a kustomize overlay over deploy/k8s/base: the
                          monolith without MODULE, calling it at
                          APP_REMOTE_<MODULE>
  DIR/module/             MODULE's Deployment, Service, HorizontalPodAutoscaler,
                          PodDisruptionBudget, NetworkPolicy and ConfigMap; its
                          secrets by reference to the Secret shop-secrets
                          (<MODULE>_DATABASE_URL, AMQP_URL, APP_JWT_SECRET
                          and the secrets MODULE's settings read, e.g.
                          identity's APP_ADMIN_PASSWORD)
  DIR/compose.yaml        a compose file to use on top of deploy/compose.yaml

DIR defaults to deploy/k8s/overlays/extracted-MODULE in the repository (the
folder of go.mod above the working directory). DIR may be anywhere on the
same file system: the overlay names the repository's deploy/k8s/base by a
path relative to DIR, so 'kustomize build DIR' works there, as long as
neither moves. Files in DIR that extract deploy did not write are never
replaced.

Modules: %s
`

func deployCmd(args []string, stdout, stderr io.Writer) error {
	f := newFlags("deploy", fmt.Sprintf(deployUsage, strings.Join(modules.Names(), ", ")), stdout)
	out := f.String("o", "", "write the files to `DIR` (default deploy/k8s/overlays/extracted-MODULE)")
	module, err := f.parseModule(args)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	dir, files, err := planDeploy(wd, module, *out)
	if err != nil {
		return err
	}
	if err := deploy.Write(dir, files); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the deployment of %s to %s:\n", module, dir)
	for _, p := range files.Paths() {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	fmt.Fprintf(stdout, "kubernetes: kustomize build %s | kubectl apply -f - (with the Secret shop-secrets holding %s)\n",
		dir, deploy.Module{Name: module}.DatabaseVar())
	return nil
}

// planDeploy works out the folder and the files of extract deploy from wd,
// the working directory, without writing anything.
func planDeploy(wd, module, out string) (string, deploy.Files, error) {
	root, err := findRoot(wd)
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(root, filepath.FromSlash(deploy.OverlayDir(module)))
	if out != "" {
		dir = out
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(wd, dir)
		}
	}
	base, err := deploy.BaseFrom(root, dir)
	if err != nil {
		return "", nil, err
	}
	composePath := filepath.Join(dir, "compose.yaml")
	if rel, err := filepath.Rel(root, composePath); err == nil && !strings.HasPrefix(rel, "..") {
		composePath = filepath.ToSlash(rel)
	}
	files, err := deploy.Overlay(deploy.Facts(modules.All), module, base, composePath)
	return dir, files, err
}
