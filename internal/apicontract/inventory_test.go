package apicontract_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
)

func TestInventory(t *testing.T) {
	s := app(t)
	runSuite(t, s.local.inventory, s.remote.inventory, inventoryChecks(s))
}

// product creates a catalog product (in process: the catalog is not under
// test here) and returns its id.
func (s *shop) product(t T, price int64, currency string) catalogapi.Product {
	t.Helper()
	p, err := s.local.catalog.CreateProduct(t.Context(), newProduct(price, currency))
	noErr(t, err, "create a product")
	return p
}

// stocked is a new product with onHand units, set through api.
func (s *shop) stocked(t T, api inventoryapi.API, onHand int64) uuid.UUID {
	t.Helper()
	id := s.product(t, 100, "EUR").ID
	st, err := api.SetStock(t.Context(), id, inventoryapi.SetStockInput{OnHand: onHand})
	noErr(t, err, "SetStock")
	wantEqual(t, st, stock(onHand, 0), "SetStock's answer")
	return id
}

func stock(onHand, reserved int64) inventoryapi.Stock {
	return inventoryapi.Stock{OnHand: onHand, Reserved: reserved, Available: onHand - reserved}
}

// wantStock fails unless each product's stock is as given.
func wantStock(t T, api inventoryapi.API, what string, want map[uuid.UUID]inventoryapi.Stock) {
	t.Helper()
	for id, w := range want {
		got, err := api.GetStock(t.Context(), id)
		noErr(t, err, "GetStock "+what)
		wantEqual(t, got, w, "the stock "+what)
	}
}

func inventoryChecks(s *shop) []check[inventoryapi.API] {
	return []check[inventoryapi.API]{
		{name: "stock_levels", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			id := s.product(t, 100, "EUR").ID
			// Known to the catalog, never stocked: zero, whether or not the
			// catalog's event has reached inventory yet.
			wantStock(t, api, "of a new product", map[uuid.UUID]inventoryapi.Stock{id: stock(0, 0)})
			for _, n := range []int64{10, 10, 0, 1_000_000_000} {
				got, err := api.SetStock(ctx, id, inventoryapi.SetStockInput{OnHand: n})
				noErr(t, err, fmt.Sprintf("SetStock(%d)", n))
				wantEqual(t, got, stock(n, 0), fmt.Sprintf("SetStock(%d)'s answer", n))
				wantStock(t, api, fmt.Sprintf("after SetStock(%d)", n), map[uuid.UUID]inventoryapi.Stock{id: stock(n, 0)})
			}
			for _, n := range []int64{-1, 1_000_000_001, math.MaxInt64, math.MinInt64} {
				got, err := api.SetStock(ctx, id, inventoryapi.SetStockInput{OnHand: n})
				what := fmt.Sprintf("SetStock(%d)", n)
				wantErr(t, err, inventoryapi.ErrInvalidStock, what)
				wantFields(t, err, what, "on_hand")
				wantEqual(t, got, inventoryapi.Stock{}, what+"'s result with its error")
			}
			wantStock(t, api, "after refused changes", map[uuid.UUID]inventoryapi.Stock{id: stock(1_000_000_000, 0)})
		}},
		{name: "unknown_product", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil} {
				_, err := api.GetStock(ctx, id)
				wantErr(t, err, inventoryapi.ErrUnknownProduct, "GetStock "+id.String())
				_, err = api.SetStock(ctx, id, inventoryapi.SetStockInput{OnHand: 5})
				wantErr(t, err, inventoryapi.ErrUnknownProduct, "SetStock "+id.String())
			}
		}},
		{name: "reserve_commit_restock", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			a, b := s.stocked(t, api, 10), s.stocked(t, api, 5)
			order := uuid.New()
			lines := []inventoryapi.Line{{ProductID: a, Quantity: 3}, {ProductID: b, Quantity: 5}}

			for _, what := range []string{"Reserve", "Reserve repeated"} {
				noErr(t, api.Reserve(ctx, order, lines), what)
				wantStock(t, api, "after "+what, map[uuid.UUID]inventoryapi.Stock{a: stock(10, 3), b: stock(5, 5)})
			}
			_, err := api.SetStock(ctx, b, inventoryapi.SetStockInput{OnHand: 4})
			wantErr(t, err, inventoryapi.ErrBelowReserved, "SetStock below the reserved units")
			got, err := api.SetStock(ctx, a, inventoryapi.SetStockInput{OnHand: 3})
			noErr(t, err, "SetStock down to the reserved units")
			wantEqual(t, got, stock(3, 3), "SetStock down to the reserved units")
			got, err = api.SetStock(ctx, a, inventoryapi.SetStockInput{OnHand: 10})
			noErr(t, err, "SetStock back")
			wantEqual(t, got, stock(10, 3), "SetStock back")

			err = api.Restock(ctx, order)
			wantErr(t, err, inventoryapi.ErrReservationState, "Restock of a reservation not committed")

			for _, what := range []string{"Commit", "Commit repeated"} {
				noErr(t, api.Commit(ctx, order), what)
				wantStock(t, api, "after "+what, map[uuid.UUID]inventoryapi.Stock{a: stock(7, 0), b: stock(0, 0)})
			}
			noErr(t, api.Reserve(ctx, order, lines), "Reserve of a committed order")
			wantErr(t, api.Release(ctx, order), inventoryapi.ErrReservationState, "Release of a committed reservation")
			wantStock(t, api, "after a repeated Reserve and a refused Release", map[uuid.UUID]inventoryapi.Stock{a: stock(7, 0), b: stock(0, 0)})

			for _, what := range []string{"Restock", "Restock repeated"} {
				noErr(t, api.Restock(ctx, order), what)
				wantStock(t, api, "after "+what, map[uuid.UUID]inventoryapi.Stock{a: stock(10, 0), b: stock(5, 0)})
			}
			wantErr(t, api.Commit(ctx, order), inventoryapi.ErrReservationState, "Commit of a restocked reservation")
			wantErr(t, api.Release(ctx, order), inventoryapi.ErrReservationState, "Release of a restocked reservation")
			wantErr(t, api.Reserve(ctx, order, lines), inventoryapi.ErrReservationState, "Reserve of a restocked order")
			wantStock(t, api, "at the end", map[uuid.UUID]inventoryapi.Stock{a: stock(10, 0), b: stock(5, 0)})
		}},
		{name: "reserve_release", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			a := s.stocked(t, api, 4)
			order := uuid.New()
			lines := []inventoryapi.Line{{ProductID: a, Quantity: 4}}
			noErr(t, api.Reserve(ctx, order, lines), "Reserve")
			wantStock(t, api, "after Reserve", map[uuid.UUID]inventoryapi.Stock{a: stock(4, 4)})
			other := uuid.New()
			wantErr(t, api.Reserve(ctx, other, []inventoryapi.Line{{ProductID: a, Quantity: 1}}), inventoryapi.ErrInsufficientStock,
				"Reserve of another order when nothing is available")
			for _, what := range []string{"Release", "Release repeated"} {
				noErr(t, api.Release(ctx, order), what)
				wantStock(t, api, "after "+what, map[uuid.UUID]inventoryapi.Stock{a: stock(4, 0)})
			}
			wantErr(t, api.Reserve(ctx, order, lines), inventoryapi.ErrReservationState, "Reserve of a released order")
			wantErr(t, api.Commit(ctx, order), inventoryapi.ErrReservationState, "Commit of a released reservation")
			wantErr(t, api.Restock(ctx, order), inventoryapi.ErrReservationState, "Restock of a released reservation")
			wantStock(t, api, "at the end", map[uuid.UUID]inventoryapi.Stock{a: stock(4, 0)})
		}},
		{name: "release_before_reserve", run: func(t T, api inventoryapi.API) {
			// Compensation may overtake a Reserve that timed out: Release of
			// an order without a reservation succeeds, and the late Reserve
			// is refused rather than holding units forever.
			ctx := t.Context()
			a := s.stocked(t, api, 3)
			order := uuid.New()
			noErr(t, api.Release(ctx, order), "Release of an order without a reservation")
			noErr(t, api.Release(ctx, order), "Release of an order without a reservation, repeated")
			wantErr(t, api.Reserve(ctx, order, []inventoryapi.Line{{ProductID: a, Quantity: 1}}), inventoryapi.ErrReservationState,
				"Reserve after Release")
			wantStock(t, api, "after the refused Reserve", map[uuid.UUID]inventoryapi.Stock{a: stock(3, 0)})
		}},
		{name: "reserve_all_or_nothing", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			a, b := s.stocked(t, api, 10), s.stocked(t, api, 1)
			unstocked := s.product(t, 100, "EUR").ID
			for _, lines := range [][]inventoryapi.Line{
				{{ProductID: a, Quantity: 3}, {ProductID: b, Quantity: 2}},
				{{ProductID: a, Quantity: 11}},
				{{ProductID: a, Quantity: 1_000_000}},
				{{ProductID: a, Quantity: 1}, {ProductID: unstocked, Quantity: 1}},
				{{ProductID: a, Quantity: 1}, {ProductID: uuid.New(), Quantity: 1}}, // unknown to the catalog
			} {
				order := uuid.New()
				what := fmt.Sprintf("Reserve(%v)", lines)
				err := api.Reserve(ctx, order, lines)
				wantErr(t, err, inventoryapi.ErrInsufficientStock, what)
				// The message names the product that is short, on both transports.
				short := lines[len(lines)-1].ProductID.String()
				if err != nil && !strings.Contains(err.Error(), short) {
					t.Errorf("%s: the error %q does not name the product short of stock, %s", what, err, short)
				}
				wantStock(t, api, "after the refused "+what, map[uuid.UUID]inventoryapi.Stock{a: stock(10, 0), b: stock(1, 0)})
				// Nothing was held, so the order may still reserve what is there.
				noErr(t, api.Reserve(ctx, order, []inventoryapi.Line{{ProductID: b, Quantity: 1}}), "Reserve what is available after "+what)
				noErr(t, api.Release(ctx, order), "Release")
			}
		}},
		{name: "reserve_invalid", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			a := s.stocked(t, api, 10)
			many := make([]inventoryapi.Line, 101)
			for i := range many {
				many[i] = inventoryapi.Line{ProductID: uuid.New(), Quantity: 1}
			}
			for _, c := range []struct {
				order  uuid.UUID
				lines  []inventoryapi.Line
				fields []string
			}{
				{uuid.New(), nil, []string{"lines"}},
				{uuid.New(), []inventoryapi.Line{}, []string{"lines"}},
				{uuid.New(), many, []string{"lines"}},
				{uuid.Nil, []inventoryapi.Line{{ProductID: a, Quantity: 1}}, []string{"order_id"}},
				{uuid.New(), []inventoryapi.Line{{ProductID: uuid.Nil, Quantity: 1}}, []string{"lines[0].product_id"}},
				{uuid.New(), []inventoryapi.Line{{ProductID: a, Quantity: 0}}, []string{"lines[0].quantity"}},
				{uuid.New(), []inventoryapi.Line{{ProductID: a, Quantity: -5}}, []string{"lines[0].quantity"}},
				{uuid.New(), []inventoryapi.Line{{ProductID: a, Quantity: 1_000_001}}, []string{"lines[0].quantity"}},
				{uuid.New(), []inventoryapi.Line{{ProductID: a, Quantity: math.MaxInt64}}, []string{"lines[0].quantity"}},
				{uuid.New(), []inventoryapi.Line{{ProductID: a, Quantity: 1}, {ProductID: a, Quantity: 2}}, []string{"lines[1].product_id"}},
			} {
				what := fmt.Sprintf("Reserve(%s, %d lines)", c.order, len(c.lines))
				err := api.Reserve(ctx, c.order, c.lines)
				wantErr(t, err, inventoryapi.ErrInvalidReservation, what)
				wantFields(t, err, what, c.fields...)
			}
			wantStock(t, api, "after refused reservations", map[uuid.UUID]inventoryapi.Stock{a: stock(10, 0)})
		}},
		{name: "no_reservation", run: func(t T, api inventoryapi.API) {
			ctx := t.Context()
			for _, order := range []uuid.UUID{uuid.New(), uuid.Nil} {
				wantErr(t, api.Commit(ctx, order), inventoryapi.ErrReservationNotFound, "Commit of "+order.String())
				wantErr(t, api.Restock(ctx, order), inventoryapi.ErrReservationNotFound, "Restock of "+order.String())
			}
		}},
	}
}
