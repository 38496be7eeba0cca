package k8s_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/deploy"
	"github.com/modmono/shop/internal/deploy/deploytest"
	"github.com/modmono/shop/modules"
)

// The checks catch the mistakes they are for: each case breaks a copy of
// the base in one way and expects Build or Check to name it.
func TestChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"a typo in a field", "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "unknown field"},
		{"a field at the wrong place", "service.yaml", "  type: ClusterIP", "  type: ClusterIP\n  replicas: 2", "unknown field"},
		{"an unknown kind", "pdb.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett", "unexpected kind"},
		{"a literal secret", "deployment.yaml", "            - name: APP_JWT_SECRET\n              valueFrom:\n                secretKeyRef:\n                  name: shop-secrets\n                  key: APP_JWT_SECRET",
			"            - name: APP_JWT_SECRET\n              value: not-a-secret-anymore-because-it-is-in-git", "literal value"},
		{"a secret in the ConfigMap", "kustomization.yaml", "- APP_ENV=prod", "- APP_ENV=prod\n      - APP_ADMIN_PASSWORD=hunter2hunter2", "holds APP_ADMIN_PASSWORD"},
		{"an optional secret", "deployment.yaml", "key: DATABASE_URL", "key: DATABASE_URL\n                  optional: true", "optional"},
		{"a literal Redis URL", "deployment.yaml", "            - name: APP_REDIS_URL\n              valueFrom:\n                secretKeyRef:\n                  name: shop-secrets\n                  key: APP_REDIS_URL\n                  optional: true",
			"            - name: APP_REDIS_URL\n              value: redis://:hunter2@redis:6379/0", "APP_REDIS_URL has a literal value"},
		{"a liveness probe elsewhere", "deployment.yaml", "path: /health/live\n              port: http\n            periodSeconds: 10", "path: /healthz\n              port: http\n            periodSeconds: 10", "liveness probe on /healthz"},
		{"no readiness probe", "deployment.yaml", "          readinessProbe:\n            httpGet:\n              path: /health/ready\n              port: http\n", "          readinessProbe:\n            exec:\n              command: [\"true\"]\n", "no HTTP readiness probe"},
		{"no memory limit", "deployment.yaml", "              memory: 512Mi\n", "", "no memory limit"},
		{"privilege escalation", "deployment.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"root", "deployment.yaml", "            runAsNonRoot: true\n", "            runAsNonRoot: false\n", "runAsNonRoot"},
		{"capabilities kept", "deployment.yaml", "                - ALL", "                - NET_RAW", "capabilities"},
		{"a selector off its pods", "deployment.yaml", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: shop", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: shopp", "does not match its template labels"},
		{"no PodDisruptionBudget", "pdb.yaml", "app.kubernetes.io/name: shop\nspec", "app.kubernetes.io/name: shop\nspec", ""}, // placeholder replaced below
		{"an HPA aimed elsewhere", "hpa.yaml", "    name: shop\n  minReplicas", "    name: shop-old\n  minReplicas", "no HorizontalPodAutoscaler"},
		{"the in-process bus with replicas", "kustomization.yaml", "APP_BUS=amqp", "APP_BUS=gochannel", "APP_BUS=gochannel"},
		{"a development process", "kustomization.yaml", "APP_ENV=prod", "APP_ENV=dev", "want prod"},
		{"a secret where it is not read", "kustomization.yaml", "- APP_MODULES=all", "- APP_MODULES=all\n      - APP_REMOTE_IDENTITY=http://identity.example:8081", "given the secret APP_ADMIN_PASSWORD, which it does not read"},
		{"no internal listener", "kustomization.yaml", "      - APP_INTERNAL_ADDR=:8081\n", "", "no APP_INTERNAL_ADDR"},
		{"an undeclared internal port", "deployment.yaml", "            - name: internal\n              containerPort: 8081\n              protocol: TCP\n", "", "declares no port 8081"},
		{"the internal port open to all", "networkpolicy.yaml", "    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/part-of: shop\n      ports:\n        - port: 8081",
			"    - ports:\n        - port: 8081", "admits the internal port 8081 from outside the shop's pods"},
		{"the internal port open to a namespace", "networkpolicy.yaml", "              app.kubernetes.io/part-of: shop\n      ports:\n        - port: 8081",
			"              app.kubernetes.io/part-of: shop\n        - namespaceSelector: {}\n      ports:\n        - port: 8081", "admits the internal port 8081 from outside"},
		{"no way in to the internal port", "networkpolicy.yaml", "        - port: 8081\n          protocol: TCP\n  egress:", "        - port: 8082\n          protocol: TCP\n  egress:", "does not admit the internal port 8081"},
		{"a configuration the app refuses", "kustomization.yaml", "APP_MODULES=all", "APP_MODULES=all,shipping", "would refuse to start"},
	} {
		if tc.want == "" {
			tc.old, tc.new, tc.want = "      app.kubernetes.io/name: shop\n", "      app.kubernetes.io/name: nobody\n", "no PodDisruptionBudget"
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			breakAndCheck(t, copyBase(t), tc.file, tc.old, tc.new, tc.want)
		})
	}
}

// Mistakes between processes, in an overlay extracting payments written to
// a temporary folder: each case changes one file and expects Check to name it.
func TestOverlayMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		// A call on the public port gets 404 for every /internal call: the
		// check follows the Service port to the container port.
		{"a remote on the public port", "kustomization.yaml", "shop-payments:8081", "shop-payments:8080",
			"leads to port 8080 of Deployment shop-payments, not to its internal listener on 8081"},
		{"rate limits counted apart", "module/deployment.yaml", "            - name: APP_REDIS_URL\n", "            - name: APP_REDIS_URL_NOT\n",
			"Deployment shop-payments has no APP_REDIS_URL but shop has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			base, err := deploy.BaseFrom("../..", dir)
			if err != nil {
				t.Fatal(err)
			}
			files, err := deploy.Overlay(deploy.Facts(modules.All), "payments", base, "compose.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := deploy.Write(dir, files); err != nil {
				t.Fatal(err)
			}
			breakAndCheck(t, dir, tc.file, tc.old, tc.new, tc.want)
		})
	}
}

// breakAndCheck replaces old by new in file of the overlay in dir and
// expects Build or Check to fail with want.
func breakAndCheck(t *testing.T, dir, file, old, new, want string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(file))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q: update the case", file, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := deploytest.Build(dir)
	if err == nil {
		_, err = objs.Check(modules.Names())
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error with %q", err, want)
	}
}

// copyBase copies deploy/k8s/base to a temporary folder.
func copyBase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("base")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("base", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
