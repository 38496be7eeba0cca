package pgxdb_test

import (
	"slices"
	"testing"

	"github.com/modmono/shop/platform/pgxdb"
)

func TestSplitBudget(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		budget  int
		weights []int
		want    []int32
	}{
		{"the monolith's default", 24, []int{1, 1, 1, 1, 2, 1}, []int32{3, 3, 2, 2, 5, 2}},
		{"the minimum", 19, []int{1, 1, 1, 1, 2, 1}, []int32{2, 2, 2, 2, 2, 2}},
		{"one module", 24, []int{1}, []int32{22}},
		{"weights below one count as one", 9, []int{0, -3}, []int32{3, 3}},
		{"no module", 0, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := pgxdb.SplitBudget(c.budget, slices.Clone(c.weights))
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("SplitBudget(%d, %v) = %v, %v; want %v", c.budget, c.weights, got, err, c.want)
			}
			used := 0
			for _, s := range got {
				used += int(s) + pgxdb.DedicatedConnsPerModule
			}
			if len(got) > 0 && used+pgxdb.BootstrapConns != c.budget {
				t.Errorf("%v uses %d of %d", got, used+pgxdb.BootstrapConns, c.budget)
			}
		})
	}
	if _, err := pgxdb.SplitBudget(18, make([]int, 6)); err == nil {
		t.Error("a budget below the minimum was split")
	}
}
