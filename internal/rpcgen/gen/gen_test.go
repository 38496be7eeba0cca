package gen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/modmono/shop/internal/rpcgen/gen"
)

// TestGeneratedClientsAreCurrent fails when an API changed and its
// client_gen.go was not regenerated (go generate ./modules/...).
func TestGeneratedClientsAreCurrent(t *testing.T) {
	dirs, err := filepath.Glob("../../../modules/*/*api")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no API packages found: %v", err)
	}
	for _, dir := range dirs {
		want, err := gen.Client(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, gen.FileName))
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./modules/...)", dir, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/%s is stale: run go generate ./modules/...", dir, gen.FileName)
		}
	}
}
