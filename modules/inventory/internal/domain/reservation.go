package domain

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/apperr"
)

// Limits of one reservation.
const (
	MaxLines    = 100
	MaxQuantity = 1_000_000
)

// State is where an order's reservation stands. It is a struct so that no
// other package can invent a state.
type State struct{ name string }

// The states. A reservation starts reserved; released and restocked are final.
var (
	StateReserved  = State{"reserved"}  // units held: available dropped
	StateCommitted = State{"committed"} // units shipped: on hand and reserved dropped
	StateReleased  = State{"released"}  // the hold was let go (compensation)
	StateRestocked = State{"restocked"} // shipped units came back to on hand
)

func (s State) String() string { return s.name }

// ParseState reads a stored state.
func ParseState(s string) (State, error) {
	for _, st := range []State{StateReserved, StateCommitted, StateReleased, StateRestocked} {
		if st.name == s {
			return st, nil
		}
	}
	return State{}, fmt.Errorf("%w: unknown reservation state %q", ErrInconsistent, s)
}

// Items are stock records by product: what one transaction has locked.
type Items map[uuid.UUID]*Item

// Reservation is one order's hold on stock: a quantity per product, every
// line in the same state.
type Reservation struct {
	orderID uuid.UUID
	lines   []inventoryapi.Line // sorted by product ID
	state   State
}

// NewReservation validates lines and returns the order's reservation, not
// yet placed. Every failing field is listed in ErrInvalidReservation.
func NewReservation(orderID uuid.UUID, lines []inventoryapi.Line) (*Reservation, error) {
	var v apperr.Validator
	v.Check(orderID != uuid.Nil, "order_id", "required")
	v.Check(len(lines) >= 1 && len(lines) <= MaxLines, "lines", "1 to 100 lines")
	if len(lines) <= MaxLines { // beyond, the count alone is the answer
		seen := make(map[uuid.UUID]bool, len(lines))
		for i, l := range lines {
			field := fmt.Sprintf("lines[%d].", i)
			v.Check(l.ProductID != uuid.Nil, field+"product_id", "required")
			v.Check(l.ProductID == uuid.Nil || !seen[l.ProductID], field+"product_id", "appears in more than one line")
			v.Check(l.Quantity >= 1 && l.Quantity <= MaxQuantity, field+"quantity", "a whole number from 1 to 1000000")
			seen[l.ProductID] = true
		}
	}
	if err := v.Err(inventoryapi.ErrInvalidReservation.Code); err != nil {
		return nil, err
	}
	return &Reservation{orderID: orderID, lines: sortLines(lines), state: StateReserved}, nil
}

// RehydrateReservation rebuilds a stored reservation. Only storage adapters call it.
func RehydrateReservation(orderID uuid.UUID, lines []inventoryapi.Line, state State) *Reservation {
	return &Reservation{orderID: orderID, lines: sortLines(lines), state: state}
}

func sortLines(lines []inventoryapi.Line) []inventoryapi.Line {
	s := slices.Clone(lines)
	slices.SortFunc(s, func(a, b inventoryapi.Line) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	return s
}

// OrderID identifies the order.
func (r *Reservation) OrderID() uuid.UUID { return r.orderID }

// State returns the reservation's state.
func (r *Reservation) State() State { return r.state }

// Lines returns the lines in product ID order.
func (r *Reservation) Lines() []inventoryapi.Line { return slices.Clone(r.lines) }

// ProductIDs returns the products of the lines, in order.
func (r *Reservation) ProductIDs() []uuid.UUID {
	ids := make([]uuid.UUID, len(r.lines))
	for i, l := range r.lines {
		ids[i] = l.ProductID
	}
	return ids
}

// Place holds every line on items (the locked stock of the lines'
// products), or nothing: ErrInsufficientStock names each product that has
// no stock record (it is absent from items) or too few available units.
func (r *Reservation) Place(items Items) error {
	var short []string
	for _, l := range r.lines {
		if it, ok := items[l.ProductID]; !ok || it.Available() < l.Quantity {
			short = append(short, l.ProductID.String())
		}
	}
	if len(short) > 0 {
		return inventoryapi.ErrInsufficientStock.WithMessage(
			"not enough units are available of product(s) " + strings.Join(short, ", "))
	}
	for _, l := range r.lines {
		if err := items[l.ProductID].Reserve(l.Quantity); err != nil {
			return err
		}
	}
	return nil
}

// Repeat answers a Reserve for an order that already has this reservation.
// A hold that exists (reserved) or was shipped (committed) makes the repeat
// a success that changes nothing; a released or restocked one is over, and
// holding units for that order again would hold them forever.
func (r *Reservation) Repeat() error {
	if r.state == StateReserved || r.state == StateCommitted {
		return nil
	}
	return r.stateError("reserved again")
}

// Release lets go of a held reservation. It reports false, changing
// nothing, when it was released already; a committed or restocked one
// cannot be released.
func (r *Reservation) Release(items Items) (bool, error) {
	return r.move(items, "released", StateReserved, StateReleased, (*Item).Release)
}

// Commit ships a held reservation. It reports false when it was committed
// already; a released or restocked one cannot be committed.
func (r *Reservation) Commit(items Items) (bool, error) {
	return r.move(items, "committed", StateReserved, StateCommitted, (*Item).Commit)
}

// Restock returns the units of a committed reservation to on hand. It
// reports false when they were returned already; a reservation that was
// never committed has nothing to return.
func (r *Reservation) Restock(items Items) (bool, error) {
	return r.move(items, "restocked", StateCommitted, StateRestocked, (*Item).Restock)
}

// move applies op to the item of every line and sets the state to, if the
// reservation is in from. Already being in to is a repeat: nothing to do.
func (r *Reservation) move(items Items, verb string, from, to State, op func(*Item, int64) error) (bool, error) {
	switch r.state {
	case to:
		return false, nil
	case from:
	default:
		return false, r.stateError(verb)
	}
	for _, l := range r.lines {
		it, ok := items[l.ProductID]
		if !ok {
			return false, fmt.Errorf("%w: order %s holds product %s, which has no stock record", ErrInconsistent, r.orderID, l.ProductID)
		}
		if err := op(it, l.Quantity); err != nil {
			return false, err
		}
	}
	r.state = to
	return true, nil
}

func (r *Reservation) stateError(verb string) error {
	return inventoryapi.ErrReservationState.WithMessage(
		fmt.Sprintf("the reservation of order %s is %s; it cannot be %s", r.orderID, r.state, verb))
}
