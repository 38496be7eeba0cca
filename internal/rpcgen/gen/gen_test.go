package gen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/modmono/shop/internal/rpcgen/gen"
)

// TestGeneratedClientsAreCurrent fails when an API changed and its
// client_gen.go or trace_gen.go was not regenerated (go generate ./modules/...).
func TestGeneratedClientsAreCurrent(t *testing.T) {
	dirs, err := filepath.Glob("../../../modules/*/*api")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no API packages found: %v", err)
	}
	for _, dir := range dirs {
		for name, generate := range map[string]func(string) ([]byte, error){gen.FileName: gen.Client, gen.TracedFileName: gen.Traced} {
			want, err := generate(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%s: %v (run go generate ./modules/...)", dir, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s is stale: run go generate ./modules/...", dir, name)
			}
		}
	}
}

func TestImportName(t *testing.T) {
	for path, want := range map[string]string{
		"context": "context", "github.com/google/uuid": "uuid", "github.com/cenkalti/backoff/v5": "backoff",
		"gopkg.in/yaml.v3": "yaml", "github.com/modmono/shop/platform/page": "page", "example.com/go-thing": "go_thing",
	} {
		if got := gen.ImportName(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
