package modules_test

import (
	"slices"
	"testing"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/modules"
)

// A plain build (no extract tags) links every module, in start-up order,
// whatever the order in which the <module>_module.go files register.
func TestPlainBuildLinksEveryModuleInStartUpOrder(t *testing.T) {
	if got, want := modules.Names(), surfaces.Names(); !slices.Equal(got, want) {
		t.Fatalf("modules.Names() = %v, want %v", got, want)
	}
}
