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

// What a module says it consumes (its Definition, shown by extract list) is
// what its durable consumers in internal/surfaces read.
func TestDefinitionsAgreeWithSurfaces(t *testing.T) {
	for i, m := range modules.All {
		s := surfaces.All[i]
		var topics []string
		for _, c := range s.Consumers {
			if !slices.Contains(topics, c.Topic) {
				topics = append(topics, c.Topic)
			}
		}
		want := slices.Clone(m.Consumes)
		slices.Sort(topics)
		slices.Sort(want)
		if !slices.Equal(topics, want) {
			t.Errorf("%s: its surface's consumers read %v, its Definition consumes %v", m.Name, topics, want)
		}
	}
}
