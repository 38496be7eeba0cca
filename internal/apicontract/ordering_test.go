package apicontract_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/page"
)

func TestOrdering(t *testing.T) {
	s := app(t)
	runSuite(t, s.local.ordering, s.remote.ordering, orderingChecks(s))
}

// forSale is a new product with onHand units in stock (set in process:
// only ordering is under test here).
func (s *shop) forSale(t T, onHand, price int64, currency string) catalogapi.Product {
	t.Helper()
	p := s.product(t, price, currency)
	_, err := s.local.inventory.SetStock(t.Context(), p.ID, inventoryapi.SetStockInput{OnHand: onHand})
	noErr(t, err, "stock a product")
	return p
}

func orderOf(token string, lines ...orderingapi.LineInput) orderingapi.PlaceOrderInput {
	return orderingapi.PlaceOrderInput{Items: lines, Payment: orderingapi.PaymentInput{Token: token}}
}

func line(p catalogapi.Product, q int64) orderingapi.LineInput {
	return orderingapi.LineInput{ProductID: p.ID, Quantity: q}
}

// customerOf is the customer id acting on their own orders.
func customerOf(id uuid.UUID) auth.Principal { return auth.Principal{UserID: id, Role: auth.Customer} }

// place places an order and checks the answer of an accepted one.
func place(t T, api orderingapi.API, customer uuid.UUID, key string, in orderingapi.PlaceOrderInput) uuid.UUID {
	t.Helper()
	placed, err := api.PlaceOrder(t.Context(), customer, key, in)
	noErr(t, err, "PlaceOrder")
	if placed.ID == uuid.Nil || placed.Status != orderingapi.StatusPending {
		t.Fatalf("PlaceOrder = %+v, want a new id and status pending", placed)
	}
	return placed.ID
}

// settled waits until the order's checkout has ended and returns the order.
func settled(t T, api orderingapi.API, id uuid.UUID) orderingapi.Order {
	t.Helper()
	var o orderingapi.Order
	eventually(t, "order "+id.String()+" leaves pending", func() (bool, string) {
		var err error
		o, err = api.GetOrder(t.Context(), id)
		if err != nil {
			t.Fatalf("GetOrder: %v", err)
		}
		return o.Status != orderingapi.StatusPending, o.Status
	})
	return o
}

// wantOrder fails unless o is the order of customer for lines of products
// at their prices, with status and failure reason (nil for none).
func wantOrder(t T, o orderingapi.Order, id, customer uuid.UUID, status string, reason *string, lines ...orderingapi.Line) {
	t.Helper()
	want := orderingapi.Order{ID: id, CustomerID: customer, Status: status, Items: lines, FailureReason: reason,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for _, l := range lines {
		want.Total += l.LineTotal
		want.Currency = "EUR"
	}
	wantEqual(t, o, want, "order "+id.String())
	if o.CreatedAt.IsZero() || o.UpdatedAt.Before(o.CreatedAt) {
		t.Errorf("order %s: created %v, updated %v", id, o.CreatedAt, o.UpdatedAt)
	}
}

func priced(p catalogapi.Product, q int64) orderingapi.Line {
	return orderingapi.Line{ProductID: p.ID, Name: p.Name, Quantity: q, UnitPrice: p.Price, LineTotal: q * p.Price}
}

// wantReason fails unless o's failure reason starts with prefix.
func wantReason(t T, o orderingapi.Order, prefix string) {
	t.Helper()
	if o.FailureReason == nil || !strings.HasPrefix(*o.FailureReason, prefix) {
		t.Errorf("order %s: failure reason %s, want one starting with %q", o.ID, reasonOf(o), prefix)
	}
}

// reasonOf quotes an order's failure reason, or says it has none.
func reasonOf(o orderingapi.Order) string {
	if o.FailureReason == nil {
		return "none"
	}
	return fmt.Sprintf("%q", *o.FailureReason)
}

func ptr[V any](v V) *V { return &v }

func (s *shop) wantStockOf(t T, p catalogapi.Product, want inventoryapi.Stock, what string) {
	t.Helper()
	got, err := s.local.inventory.GetStock(t.Context(), p.ID)
	noErr(t, err, "GetStock")
	wantEqual(t, got, want, "the stock "+what)
}

// paymentOf returns the order's payment status, "" when it has none.
func (s *shop) paymentOf(t T, order orderingapi.Order) string {
	t.Helper()
	ps, err := s.local.payments.ForOrder(t.Context(), order.ID)
	noErr(t, err, "ForOrder")
	if len(ps.Items) == 0 {
		return ""
	}
	p := ps.Items[0]
	if p.Amount != order.Total || p.Currency != order.Currency || p.CustomerID != order.CustomerID {
		t.Errorf("the payment of order %s is %d %s of customer %s, want %d %s of %s", order.ID,
			p.Amount, p.Currency, p.CustomerID, order.Total, order.Currency, order.CustomerID)
	}
	return p.Status
}

func orderingChecks(s *shop) []check[orderingapi.API] {
	return []check[orderingapi.API]{
		{name: "place_confirm", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			a, b := s.forSale(t, 10, 250, "EUR"), s.forSale(t, 1, 1999, "EUR")
			customer, key := uuid.New(), "key-"+unique()
			in := orderOf(paymentsapi.TokenOK, line(a, 2), line(b, 1))
			id := place(t, api, customer, key, in)

			o := settled(t, api, id)
			wantOrder(t, o, id, customer, orderingapi.StatusConfirmed, nil, priced(a, 2), priced(b, 1))
			again, err := api.GetOrder(ctx, id)
			noErr(t, err, "GetOrder")
			wantEqual(t, again, o, "GetOrder repeated")

			s.wantStockOf(t, a, stock(8, 0), "of a confirmed order's product")
			s.wantStockOf(t, b, stock(0, 0), "of a confirmed order's product")
			if st := s.paymentOf(t, o); st != paymentsapi.StatusCaptured {
				t.Errorf("the payment of a confirmed order is %q, want captured", st)
			}
		}},
		{name: "idempotency_key", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			a := s.forSale(t, 10, 100, "EUR")
			customer := uuid.New()
			key := strings.Repeat("k", 243) + unique() // 255 printable ASCII characters: the longest key
			in := orderOf(paymentsapi.TokenOK, line(a, 1))
			id := place(t, api, customer, key, in)

			replay, err := api.PlaceOrder(ctx, customer, key, orderOf(paymentsapi.TokenOK, line(a, 1)))
			noErr(t, err, "PlaceOrder with the same key and body")
			if replay.ID != id {
				t.Errorf("PlaceOrder with the same key and body = %+v, want order %s", replay, id)
			}
			for _, other := range []orderingapi.PlaceOrderInput{
				orderOf(paymentsapi.TokenOK, line(a, 2)),
				orderOf(paymentsapi.TokenDecline, line(a, 1)),
			} {
				got, err := api.PlaceOrder(ctx, customer, key, other)
				wantErr(t, err, orderingapi.ErrIdempotencyKeyReused, fmt.Sprintf("PlaceOrder with the same key and another body %+v", other))
				wantEqual(t, got, orderingapi.Placed{}, "PlaceOrder's result with its error")
			}
			// The key is the customer's own: another customer's is another order.
			other := place(t, api, uuid.New(), key, in)
			// Another key of the customer is another order.
			third := place(t, api, customer, "key-"+unique(), in)
			if other == id || third == id || other == third {
				t.Errorf("three orders, ids %s, %s, %s", id, other, third)
			}

			o := settled(t, api, id)
			replay, err = api.PlaceOrder(ctx, customer, key, in)
			noErr(t, err, "PlaceOrder replayed after the checkout")
			wantEqual(t, replay, orderingapi.Placed{ID: id, Status: o.Status}, "the replayed PlaceOrder")
			// Each order took its unit once, however often it was placed.
			left := int64(10)
			for _, id := range []uuid.UUID{id, other, third} {
				if settled(t, api, id).Status == orderingapi.StatusConfirmed {
					left--
				}
			}
			s.wantStockOf(t, a, stock(left, 0), "after three orders of one unit")
		}},
		{name: "place_invalid", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			a, usd := s.forSale(t, 10, 100, "EUR"), s.forSale(t, 10, 100, "USD")
			customer := uuid.New()
			ok := orderOf(paymentsapi.TokenOK, line(a, 1))
			for key, want := range map[string]*apperr.Error{
				"":                       orderingapi.ErrIdempotencyKeyMissing,
				strings.Repeat("k", 256): orderingapi.ErrIdempotencyKeyInvalid,
				"ключ":                   orderingapi.ErrIdempotencyKeyInvalid,
				"new\nline":              orderingapi.ErrIdempotencyKeyInvalid,
			} {
				got, err := api.PlaceOrder(ctx, customer, key, ok)
				wantErr(t, err, want, fmt.Sprintf("PlaceOrder with key %.20q", key))
				wantEqual(t, got, orderingapi.Placed{}, "PlaceOrder's result with its error")
			}
			many := make([]orderingapi.LineInput, 51)
			for i := range many {
				many[i] = orderingapi.LineInput{ProductID: uuid.New(), Quantity: 1}
			}
			for _, c := range []struct {
				in     orderingapi.PlaceOrderInput
				fields []string
			}{
				{orderingapi.PlaceOrderInput{}, []string{"items", "payment.token"}},
				{orderOf(paymentsapi.TokenOK), []string{"items"}},
				{orderOf(paymentsapi.TokenOK, many...), []string{"items"}},
				{orderOf(paymentsapi.TokenOK, line(a, 0)), []string{"items[0].quantity"}},
				{orderOf(paymentsapi.TokenOK, line(a, -1)), []string{"items[0].quantity"}},
				{orderOf(paymentsapi.TokenOK, line(a, 1001)), []string{"items[0].quantity"}},
				{orderOf(paymentsapi.TokenOK, line(a, math.MaxInt64)), []string{"items[0].quantity"}},
				{orderOf(paymentsapi.TokenOK, orderingapi.LineInput{Quantity: 1}), []string{"items[0].product_id"}},
				{orderOf(paymentsapi.TokenOK, line(a, 1), line(a, 2)), []string{"items[1].product_id"}},
				{orderOf("", line(a, 1)), []string{"payment.token"}},
				{orderOf("tok ok", line(a, 1)), []string{"payment.token"}},
				{orderOf(strings.Repeat("t", 65), line(a, 1)), []string{"payment.token"}},
			} {
				what := fmt.Sprintf("PlaceOrder(%d items, token %.10q)", len(c.in.Items), c.in.Payment.Token)
				_, err := api.PlaceOrder(ctx, customer, "key-"+unique(), c.in)
				wantErr(t, err, orderingapi.ErrInvalidOrder, what)
				wantFields(t, err, what, c.fields...)
			}

			// A refused order does not use up its key.
			key := "key-" + unique()
			_, err := api.PlaceOrder(ctx, customer, key, orderOf(paymentsapi.TokenOK, line(a, 1), orderingapi.LineInput{ProductID: uuid.New(), Quantity: 1}))
			wantErr(t, err, orderingapi.ErrUnknownProduct, "PlaceOrder naming an unknown product")
			_, err = api.PlaceOrder(ctx, customer, key, orderOf(paymentsapi.TokenOK, line(a, 1), line(usd, 1)))
			wantErr(t, err, orderingapi.ErrMixedCurrency, "PlaceOrder in two currencies")
			id := place(t, api, customer, key, ok)
			o := settled(t, api, id)
			wantOrder(t, o, id, customer, orderingapi.StatusConfirmed, nil, priced(a, 1))
			s.wantStockOf(t, a, stock(9, 0), "after one order of the refused ones went through")
			s.wantStockOf(t, usd, stock(10, 0), "of a product no order took")
		}},
		{name: "declined", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			a := s.forSale(t, 5, 100, "EUR")
			customer := uuid.New()
			id := place(t, api, customer, "key-"+unique(), orderOf(paymentsapi.TokenDecline, line(a, 2)))
			o := settled(t, api, id)
			wantOrder(t, o, id, customer, orderingapi.StatusCancelled, ptr("payment declined"), priced(a, 2))
			s.wantStockOf(t, a, stock(5, 0), "after a declined order (released)")
			if st := s.paymentOf(t, o); st != paymentsapi.StatusFailed {
				t.Errorf("the payment of a declined order is %q, want failed", st)
			}
			// Cancelling a cancelled order changes nothing and answers it.
			for _, what := range []string{"CancelOrder of a cancelled order", "CancelOrder repeated"} {
				got, err := api.CancelOrder(ctx, id, customerOf(customer))
				noErr(t, err, what)
				wantEqual(t, got, o, what+"'s answer")
			}
		}},
		{name: "insufficient_stock", run: func(t T, api orderingapi.API) {
			a, b := s.forSale(t, 1, 100, "EUR"), s.forSale(t, 5, 100, "EUR")
			customer := uuid.New()
			id := place(t, api, customer, "key-"+unique(), orderOf(paymentsapi.TokenOK, line(b, 5), line(a, 2)))
			o := settled(t, api, id)
			if o.Status != orderingapi.StatusCancelled {
				t.Fatalf("an order of more than the stock ended %s, want cancelled", o.Status)
			}
			wantReason(t, o, "insufficient stock")
			s.wantStockOf(t, a, stock(1, 0), "after an order that could not be filled")
			s.wantStockOf(t, b, stock(5, 0), "after an order that could not be filled")
			if st := s.paymentOf(t, o); st != "" {
				t.Errorf("an order that could not be filled has a %s payment", st)
			}
		}},
		{name: "payment_times_out", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			a := s.forSale(t, 3, 100, "EUR")
			customer := uuid.New()
			id := place(t, api, customer, "key-"+unique(), orderOf(paymentsapi.TokenSlow, line(a, 3)))
			// The charge takes the whole payment timeout, so the order is
			// still being checked out.
			got, err := api.CancelOrder(ctx, id, customerOf(customer))
			switch {
			case err == nil && got.Status == orderingapi.StatusCancelled:
				t.Logf("the checkout ended before CancelOrder: ErrNotCancellable not exercised")
			default:
				wantErr(t, err, orderingapi.ErrNotCancellable, "CancelOrder of a pending order")
			}
			o := settled(t, api, id)
			if o.Status != orderingapi.StatusCancelled {
				t.Fatalf("an order whose payment timed out ended %s, want cancelled", o.Status)
			}
			wantReason(t, o, "payment timed out")
			s.wantStockOf(t, a, stock(3, 0), "after an order whose payment timed out")
			if st := s.paymentOf(t, o); st != "" && st != paymentsapi.StatusFailed {
				t.Errorf("the payment of an order whose payment timed out is %s, want none or failed (voided)", st)
			}
		}},
		{name: "cancel_confirmed", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			a := s.forSale(t, 4, 300, "EUR")
			customer := uuid.New()
			id := place(t, api, customer, "key-"+unique(), orderOf(paymentsapi.TokenOK, line(a, 3)))
			o := settled(t, api, id)
			if o.Status != orderingapi.StatusConfirmed {
				t.Fatalf("order ended %s, want confirmed", o.Status)
			}
			s.wantStockOf(t, a, stock(1, 0), "after the order")

			_, err := api.CancelOrder(ctx, id, customerOf(uuid.New()))
			wantErr(t, err, auth.ErrForbidden, "CancelOrder by another customer")
			_, err = api.CancelOrder(ctx, id, auth.Principal{})
			wantErr(t, err, auth.ErrForbidden, "CancelOrder by nobody")
			s.wantStockOf(t, a, stock(1, 0), "after refused cancellations")
			got, err := api.CancelOrder(ctx, id, customerOf(customer))
			noErr(t, err, "CancelOrder of a confirmed order")
			if got.ID != id || (got.Status != orderingapi.StatusConfirmed && got.Status != orderingapi.StatusCancelled) {
				t.Errorf("CancelOrder = order %s, status %s; want the order, confirmed or cancelled", got.ID, got.Status)
			}
			eventually(t, "the order is cancelled", func() (bool, string) {
				var err error
				o, err = api.GetOrder(ctx, id)
				noErr(t, err, "GetOrder")
				return o.Status == orderingapi.StatusCancelled, o.Status
			})
			wantOrder(t, o, id, customer, orderingapi.StatusCancelled, ptr("cancelled by the customer"), priced(a, 3))
			s.wantStockOf(t, a, stock(4, 0), "after the order was cancelled (restocked)")
			if st := s.paymentOf(t, o); st != paymentsapi.StatusRefunded {
				t.Errorf("the payment of a cancelled confirmed order is %q, want refunded", st)
			}
			got, err = api.CancelOrder(ctx, id, customerOf(customer))
			noErr(t, err, "CancelOrder repeated")
			wantEqual(t, got, o, "the repeated CancelOrder's answer")
		}},
		{name: "not_found", run: func(t T, api orderingapi.API) {
			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil} {
				o, err := api.GetOrder(t.Context(), id)
				wantErr(t, err, orderingapi.ErrOrderNotFound, "GetOrder "+id.String())
				wantEqual(t, o, orderingapi.Order{}, "GetOrder's result with its error")
				_, err = api.CancelOrder(t.Context(), id, auth.Principal{UserID: uuid.New(), Role: auth.Admin})
				wantErr(t, err, orderingapi.ErrOrderNotFound, "CancelOrder "+id.String())
			}
		}},
		{name: "list_orders", run: func(t T, api orderingapi.API) {
			ctx := t.Context()
			in, email, name := newAccount()
			reg, err := s.local.identity.Register(ctx, in)
			noErr(t, err, "register the customer")
			customer := reg.ID
			a := s.forSale(t, 10, 100, "EUR")
			var orders []orderingapi.Order // oldest first
			for _, token := range []string{paymentsapi.TokenOK, paymentsapi.TokenDecline, paymentsapi.TokenOK} {
				id := place(t, api, customer, "key-"+unique(), orderOf(token, line(a, 1)))
				orders = append(orders, settled(t, api, id))
			}
			// The read model follows the orders' events: wait until it has
			// caught up with the final states and the customer's replica.
			list := func(status string, req page.Request) (page.Page[orderingapi.OrderView], error) {
				return api.ListOrders(ctx, orderingapi.ListQuery{CustomerID: customer, Status: status, Page: req})
			}
			var all page.Page[orderingapi.OrderView]
			eventually(t, "the read model lists the 3 settled orders", func() (bool, string) {
				all, err = list("", page.Request{Limit: page.MaxLimit})
				noErr(t, err, "ListOrders")
				if len(all.Items) != len(orders) {
					return false, fmt.Sprintf("%d orders", len(all.Items))
				}
				for _, v := range all.Items {
					if v.Status == orderingapi.StatusPending || v.Customer == nil {
						return false, fmt.Sprintf("order %s %s, customer %v", v.ID, v.Status, v.Customer)
					}
				}
				return true, ""
			})
			customerView := &orderingapi.Customer{ID: customer, Name: name, Email: email}
			var want []orderingapi.OrderView // newest first
			for i := len(orders) - 1; i >= 0; i-- {
				want = append(want, orderingapi.OrderView{Order: orders[i], Customer: customerView})
			}
			wantEqual(t, all, page.Page[orderingapi.OrderView]{Items: want}, "ListOrders of the customer")

			pages := walkPages(t, 2, uuid.Nil, func(req page.Request) (page.Page[orderingapi.OrderView], error) {
				return list("", req)
			}, func(v orderingapi.OrderView) uuid.UUID { return v.ID })
			wantEqual(t, pages, want, "ListOrders page by page")

			for status, idx := range map[string][]int{
				orderingapi.StatusConfirmed: {0, 2},
				orderingapi.StatusCancelled: {1},
				orderingapi.StatusPending:   nil,
			} {
				got, err := list(status, page.Request{Limit: page.MaxLimit})
				noErr(t, err, "ListOrders "+status)
				var w []orderingapi.OrderView
				for _, v := range want {
					if v.Status == status {
						w = append(w, v)
					}
				}
				if len(w) != len(idx) {
					t.Fatalf("the orders ended in unexpected states: %d %s, want %d", len(w), status, len(idx))
				}
				wantEqual(t, got, page.Page[orderingapi.OrderView]{Items: w}, "ListOrders "+status)
			}
			for _, q := range []orderingapi.ListQuery{
				{CustomerID: uuid.New(), Page: page.Request{Limit: 10}},
				{CustomerID: customer, Page: page.Request{Limit: 10, After: orders[0].ID}},
			} {
				got, err := api.ListOrders(ctx, q)
				noErr(t, err, "ListOrders")
				if got.Items == nil || len(got.Items) != 0 || got.NextCursor != nil {
					t.Errorf("ListOrders(%+v) = %+v, want an empty, non-nil page", q, got)
				}
			}
			// Newest first: ids are UUIDv7, so they descend.
			for i := 1; i < len(all.Items); i++ {
				if bytes.Compare(all.Items[i-1].ID[:], all.Items[i].ID[:]) <= 0 {
					t.Errorf("ListOrders is not newest first")
				}
			}
		}},
		{name: "list_limit_out_of_range",
			run: func(t T, api orderingapi.API) {
				customer := uuid.New()
				place(t, api, customer, "key-"+unique(), orderOf(paymentsapi.TokenDecline, line(s.forSale(t, 1, 100, "EUR"), 1)))
				eventually(t, "the read model lists the order", func() (bool, string) {
					p, err := api.ListOrders(t.Context(), orderingapi.ListQuery{CustomerID: customer, Page: page.Request{Limit: 10}})
					noErr(t, err, "ListOrders")
					return len(p.Items) == 1, fmt.Sprintf("%d orders", len(p.Items))
				})
				for _, limit := range []int{0, -1, math.MaxInt} {
					p, err := api.ListOrders(t.Context(), orderingapi.ListQuery{CustomerID: customer, Page: page.Request{Limit: limit}})
					if !isAny(err, page.ErrInvalid) {
						t.Errorf("ListOrders(limit %d) = %d items, cursor %v, err %v; want page.ErrInvalid", limit, len(p.Items), p.NextCursor != nil, err)
					}
				}
			}},
		{name: "place_nil_customer",
			run: func(t T, api orderingapi.API) {
				a := s.forSale(t, 1, 100, "EUR")
				p, err := api.PlaceOrder(t.Context(), uuid.Nil, "key-"+unique(), orderOf(paymentsapi.TokenOK, line(a, 1)))
				wantErr(t, err, orderingapi.ErrInvalidOrder, "PlaceOrder for the nil customer")
				if err == nil {
					o := settled(t, api, p.ID)
					t.Errorf("the order of the nil customer was accepted and ended %s (%s)", o.Status, reasonOf(o))
				}
			}},
		{name: "cancel_reason_of_admin",
			run: func(t T, api orderingapi.API) {
				ctx := t.Context()
				id := place(t, api, uuid.New(), "key-"+unique(), orderOf(paymentsapi.TokenOK, line(s.forSale(t, 1, 100, "EUR"), 1)))
				if o := settled(t, api, id); o.Status != orderingapi.StatusConfirmed {
					t.Fatalf("order ended %s, want confirmed", o.Status)
				}
				_, err := api.CancelOrder(ctx, id, auth.Principal{UserID: uuid.New(), Role: auth.Admin})
				noErr(t, err, "CancelOrder")
				var o orderingapi.Order
				eventually(t, "the order is cancelled", func() (bool, string) {
					o, err = api.GetOrder(t.Context(), id)
					noErr(t, err, "GetOrder")
					return o.Status == orderingapi.StatusCancelled, o.Status
				})
				if o.FailureReason == nil || *o.FailureReason != "cancelled by an administrator" {
					t.Errorf("an administrator's cancellation has the reason %s, want %q", reasonOf(o), "cancelled by an administrator")
				}
			}},
	}
}
