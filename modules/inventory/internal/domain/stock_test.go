package domain_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
)

func TestSetOnHand(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		reserved, set int64
		want          error
	}{
		"zero":           {0, 0, nil},
		"max":            {0, domain.MaxOnHand, nil},
		"equal reserved": {5, 5, nil},
		"negative":       {0, -1, inventoryapi.ErrInvalidStock},
		"over max":       {0, domain.MaxOnHand + 1, inventoryapi.ErrInvalidStock},
		"below reserved": {5, 4, inventoryapi.ErrBelowReserved},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			it := domain.Rehydrate(uuid.New(), 10, tc.reserved)
			changed, err := it.SetOnHand(tc.set)
			if changed != (err == nil && tc.set != 10) {
				t.Fatalf("changed %v", changed)
			}
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			s := it.Snapshot()
			if tc.want == nil && (s.OnHand != tc.set || s.Available != tc.set-tc.reserved) {
				t.Fatalf("%+v", s)
			}
			if tc.want != nil && s.OnHand != 10 {
				t.Fatalf("a rejected change was applied: %+v", s)
			}
		})
	}
}
