package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
)

func line(p uuid.UUID, q int64) inventoryapi.Line {
	return inventoryapi.Line{ProductID: p, Quantity: q}
}

func TestNewReservationRules(t *testing.T) {
	t.Parallel()
	a, b := uuid.New(), uuid.New()
	many := make([]inventoryapi.Line, domain.MaxLines+1)
	for i := range many {
		many[i] = inventoryapi.Line{ProductID: uuid.New(), Quantity: 1}
	}
	for name, tc := range map[string]struct {
		order  uuid.UUID
		lines  []inventoryapi.Line
		fields []string // nil = valid
	}{
		"one line":       {uuid.New(), []inventoryapi.Line{line(a, 1)}, nil},
		"max lines":      {uuid.New(), many[:domain.MaxLines], nil},
		"max quantity":   {uuid.New(), []inventoryapi.Line{line(a, domain.MaxQuantity), line(b, 1)}, nil},
		"no order":       {uuid.Nil, []inventoryapi.Line{line(a, 1)}, []string{"order_id"}},
		"no lines":       {uuid.New(), nil, []string{"lines"}},
		"too many lines": {uuid.New(), many, []string{"lines"}},
		"no product":     {uuid.New(), []inventoryapi.Line{line(uuid.Nil, 1)}, []string{"lines[0].product_id"}},
		"same product":   {uuid.New(), []inventoryapi.Line{line(a, 1), line(b, 1), line(a, 2)}, []string{"lines[2].product_id"}},
		"zero":           {uuid.New(), []inventoryapi.Line{line(a, 0)}, []string{"lines[0].quantity"}},
		"negative":       {uuid.New(), []inventoryapi.Line{line(a, 1), line(b, -1)}, []string{"lines[1].quantity"}},
		"over max":       {uuid.New(), []inventoryapi.Line{line(a, domain.MaxQuantity+1)}, []string{"lines[0].quantity"}},
		"all at once":    {uuid.Nil, []inventoryapi.Line{line(uuid.Nil, 0)}, []string{"order_id", "lines[0].product_id", "lines[0].quantity"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := domain.NewReservation(tc.order, tc.lines)
			if tc.fields == nil {
				if err != nil || r.State() != domain.StateReserved || len(r.Lines()) != len(tc.lines) {
					t.Fatalf("%v %+v", err, r)
				}
				return
			}
			var e *apperr.Error
			if !errors.As(err, &e) || !errors.Is(err, inventoryapi.ErrInvalidReservation) || e.Kind != apperr.KindInvalid {
				t.Fatalf("want invalid reservation, got %v", err)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestItemKeepsAvailableAtOrAboveZero(t *testing.T) {
	t.Parallel()
	it := domain.Rehydrate(uuid.New(), 10, 4)
	if err := it.Reserve(7); !errors.Is(err, inventoryapi.ErrInsufficientStock) || it.Snapshot().Reserved != 4 {
		t.Fatalf("reserve over available: %v %+v", err, it.Snapshot())
	}
	if err := it.Reserve(6); err != nil || it.Snapshot() != (inventoryapi.Stock{OnHand: 10, Reserved: 10, Available: 0}) {
		t.Fatalf("reserve all: %v %+v", err, it.Snapshot())
	}
	if err := it.Commit(11); !errors.Is(err, domain.ErrInconsistent) {
		t.Fatalf("commit over reserved: %v", err)
	}
	if err := it.Commit(3); err != nil || it.Snapshot() != (inventoryapi.Stock{OnHand: 7, Reserved: 7, Available: 0}) {
		t.Fatalf("commit: %v %+v", err, it.Snapshot())
	}
	if err := it.Release(8); !errors.Is(err, domain.ErrInconsistent) {
		t.Fatalf("release over reserved: %v", err)
	}
	if err := it.Release(7); err != nil || it.Snapshot() != (inventoryapi.Stock{OnHand: 7, Reserved: 0, Available: 7}) {
		t.Fatalf("release: %v %+v", err, it.Snapshot())
	}
	if err := it.Restock(3); err != nil || it.Snapshot() != (inventoryapi.Stock{OnHand: 10, Reserved: 0, Available: 10}) {
		t.Fatalf("restock: %v %+v", err, it.Snapshot())
	}
	for _, q := range []int64{0, -1} {
		if it.Reserve(q) == nil || it.Release(q) == nil || it.Commit(q) == nil || it.Restock(q) == nil {
			t.Fatalf("quantity %d accepted", q)
		}
	}
	if it.Snapshot() != (inventoryapi.Stock{OnHand: 10, Reserved: 0, Available: 10}) {
		t.Fatalf("a rejected change was applied: %+v", it.Snapshot())
	}
}

func TestPlaceHoldsAllOrNothing(t *testing.T) {
	t.Parallel()
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	items := domain.Items{a: domain.Rehydrate(a, 5, 0), b: domain.Rehydrate(b, 1, 0)} // c has no record
	r, err := domain.NewReservation(uuid.New(), []inventoryapi.Line{line(a, 3), line(b, 2), line(c, 1)})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Place(items)
	if !errors.Is(err, inventoryapi.ErrInsufficientStock) || strings.Contains(err.Error(), a.String()) ||
		!strings.Contains(err.Error(), b.String()) || !strings.Contains(err.Error(), c.String()) {
		t.Fatalf("want b and c named, got %v", err)
	}
	if items[a].Snapshot().Reserved != 0 || items[b].Snapshot().Reserved != 0 {
		t.Fatal("a failed placement held units")
	}
	items[b], items[c] = domain.Rehydrate(b, 2, 0), domain.Rehydrate(c, 1, 0)
	if err := r.Place(items); err != nil || items[a].Snapshot().Available != 2 || items[b].Snapshot().Available != 0 || items[c].Snapshot().Available != 0 {
		t.Fatalf("%v", err)
	}
}

// Every operation in every state: what it does to the stock and the state.
func TestReservationTransitions(t *testing.T) {
	t.Parallel()
	type op func(*domain.Reservation, domain.Items) (bool, error)
	ops := map[string]op{
		"release": (*domain.Reservation).Release,
		"commit":  (*domain.Reservation).Commit,
		"restock": (*domain.Reservation).Restock,
		"reserve again": func(r *domain.Reservation, _ domain.Items) (bool, error) {
			return false, r.Repeat()
		},
	}
	type want struct {
		changed  bool
		err      error
		state    domain.State
		onHand   int64
		reserved int64
	}
	// The stock of each state before the operation: 10 units, 3 of them the order's.
	before := map[domain.State][2]int64{
		domain.StateReserved:  {10, 3},
		domain.StateCommitted: {7, 0},
		domain.StateReleased:  {10, 0},
		domain.StateRestocked: {10, 0},
	}
	stateErr := inventoryapi.ErrReservationState
	for name, tc := range map[string]struct {
		from domain.State
		op   string
		want want
	}{
		"release reserved":        {domain.StateReserved, "release", want{true, nil, domain.StateReleased, 10, 0}},
		"release committed":       {domain.StateCommitted, "release", want{false, stateErr, domain.StateCommitted, 7, 0}},
		"release released":        {domain.StateReleased, "release", want{false, nil, domain.StateReleased, 10, 0}},
		"release restocked":       {domain.StateRestocked, "release", want{false, stateErr, domain.StateRestocked, 10, 0}},
		"commit reserved":         {domain.StateReserved, "commit", want{true, nil, domain.StateCommitted, 7, 0}},
		"commit committed":        {domain.StateCommitted, "commit", want{false, nil, domain.StateCommitted, 7, 0}},
		"commit released":         {domain.StateReleased, "commit", want{false, stateErr, domain.StateReleased, 10, 0}},
		"commit restocked":        {domain.StateRestocked, "commit", want{false, stateErr, domain.StateRestocked, 10, 0}},
		"restock reserved":        {domain.StateReserved, "restock", want{false, stateErr, domain.StateReserved, 10, 3}},
		"restock committed":       {domain.StateCommitted, "restock", want{true, nil, domain.StateRestocked, 10, 0}},
		"restock released":        {domain.StateReleased, "restock", want{false, stateErr, domain.StateReleased, 10, 0}},
		"restock restocked":       {domain.StateRestocked, "restock", want{false, nil, domain.StateRestocked, 10, 0}},
		"reserve again reserved":  {domain.StateReserved, "reserve again", want{false, nil, domain.StateReserved, 10, 3}},
		"reserve again committed": {domain.StateCommitted, "reserve again", want{false, nil, domain.StateCommitted, 7, 0}},
		"reserve again released":  {domain.StateReleased, "reserve again", want{false, stateErr, domain.StateReleased, 10, 0}},
		"reserve again restocked": {domain.StateRestocked, "reserve again", want{false, stateErr, domain.StateRestocked, 10, 0}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := uuid.New()
			items := domain.Items{p: domain.Rehydrate(p, before[tc.from][0], before[tc.from][1])}
			r := domain.RehydrateReservation(uuid.New(), []inventoryapi.Line{{ProductID: p, Quantity: 3}}, tc.from)
			changed, err := ops[tc.op](r, items)
			if changed != tc.want.changed || !errors.Is(err, tc.want.err) || (err == nil) != (tc.want.err == nil) {
				t.Fatalf("changed %v, err %v; want %v, %v", changed, err, tc.want.changed, tc.want.err)
			}
			s := items[p].Snapshot()
			if r.State() != tc.want.state || s.OnHand != tc.want.onHand || s.Reserved != tc.want.reserved {
				t.Fatalf("state %v stock %+v; want %+v", r.State(), s, tc.want)
			}
		})
	}
}

func TestParseState(t *testing.T) {
	t.Parallel()
	for _, s := range []domain.State{domain.StateReserved, domain.StateCommitted, domain.StateReleased, domain.StateRestocked} {
		if got, err := domain.ParseState(s.String()); err != nil || got != s {
			t.Fatalf("%v: %v %v", s, got, err)
		}
	}
	if _, err := domain.ParseState("shipped"); !errors.Is(err, domain.ErrInconsistent) {
		t.Fatalf("unknown state: %v", err)
	}
}
