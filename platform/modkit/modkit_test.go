package modkit_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
)

func names(ss []modkit.Surface) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return n
}

func TestStartOrderPutsCalleesFirst(t *testing.T) {
	got, err := modkit.StartOrder([]modkit.Surface{
		{Name: "ordering", Calls: []string{"payments", "catalog"}},
		{Name: "identity"},
		{Name: "payments"},
		{Name: "catalog"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"identity", "payments", "catalog", "ordering"}; !slices.Equal(names(got), want) {
		t.Fatalf("order %v, want %v", names(got), want)
	}
}

func TestStartOrderRefusesCyclesAndUnknownModules(t *testing.T) {
	if _, err := modkit.StartOrder([]modkit.Surface{{Name: "a", Calls: []string{"b"}}, {Name: "b", Calls: []string{"a"}}, {Name: "c"}}); err == nil ||
		!strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "[a b]") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := modkit.StartOrder([]modkit.Surface{{Name: "a", Calls: []string{"shipping"}}}); err == nil || !strings.Contains(err.Error(), `"shipping"`) {
		t.Errorf("unknown: %v", err)
	}
}

func TestCalledByIsDerivedFromCalls(t *testing.T) {
	all := []modkit.Surface{{Name: "a", Calls: []string{"c"}}, {Name: "b", Calls: []string{"c", "a"}}, {Name: "c"}}
	if got := modkit.CalledBy(all, "c"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("called by %v", got)
	}
}

type event struct{ typ string }

func (e event) EventType() string   { return e.typ }
func (e event) EventVersion() int   { return 1 }
func (e event) AggregateID() string { return "x" }

func TestPublishesAndConsumesAreDerived(t *testing.T) {
	s := modkit.Surface{
		Events:    []bus.Event{event{"m.a"}, event{"m.b"}, event{"m.a"}},
		Consumers: []bus.Subscription{{Consumer: "m.x", Topic: "o.c"}, {Consumer: "m.y", Topic: "o.c"}, {Consumer: "m.z", Topic: "o.d"}},
	}
	if got := s.Publishes(); !slices.Equal(got, []string{"m.a", "m.b"}) {
		t.Errorf("publishes %v", got)
	}
	if got := s.Consumes(); !slices.Equal(got, []string{"o.c", "o.d"}) {
		t.Errorf("consumes %v", got)
	}
}

func TestBindPairsEveryDeclaredConsumerWithOneHandler(t *testing.T) {
	s := modkit.Surface{Name: "m", Consumers: []bus.Subscription{{Consumer: "m.x", Topic: "o.c"}, {Consumer: "m.y", Topic: "o.d"}}}
	h := func(context.Context, pgx.Tx, bus.Envelope) error { return nil }
	got, err := s.Bind(nil, map[string]bus.HandlerFunc{"m.x": h, "m.y": h})
	if err != nil || len(got) != 2 || got[1].Name != "m.y" || got[1].Topic != "o.d" {
		t.Fatalf("bind: %v %+v", err, got)
	}
	_, err = s.Bind(nil, map[string]bus.HandlerFunc{"m.x": h, "m.w": h})
	if err == nil || !strings.Contains(err.Error(), "m.y of o.d has no handler") || !strings.Contains(err.Error(), "handler m.w is not among") {
		t.Fatalf("mismatch: %v", err)
	}
}
