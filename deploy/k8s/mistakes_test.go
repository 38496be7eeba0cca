package k8s_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		{"a configuration the app refuses", "kustomization.yaml", "APP_MODULES=all", "APP_MODULES=all,shipping", "would refuse to start"},
	} {
		if tc.want == "" {
			tc.old, tc.new, tc.want = "      app.kubernetes.io/name: shop\n", "      app.kubernetes.io/name: nobody\n", "no PodDisruptionBudget"
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyBase(t)
			path := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.old) {
				t.Fatalf("%s does not contain %q: update the case", tc.file, tc.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			objs, err := deploytest.Build(dir)
			if err == nil {
				_, err = objs.Check(modules.Names())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
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
