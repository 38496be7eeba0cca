package apicontract_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/platform/page"
)

func TestCatalog(t *testing.T) {
	s := app(t)
	runSuite(t, s.local.catalog, s.remote.catalog, catalogChecks())
}

// newProduct is a valid product input with a fresh name.
func newProduct(price int64, currency string) catalogapi.ProductInput {
	tag := unique()
	return catalogapi.ProductInput{Name: "Contract product " + tag, Description: "made for " + tag, Price: price, Currency: currency}
}

func productOf(id uuid.UUID, in catalogapi.ProductInput) catalogapi.Product {
	return catalogapi.Product{ID: id, Name: in.Name, Description: in.Description, Price: in.Price, Currency: in.Currency}
}

func catalogChecks() []check[catalogapi.API] {
	return []check[catalogapi.API]{
		{name: "create_get", run: func(t T, api catalogapi.API) {
			ctx := t.Context()
			for _, in := range []catalogapi.ProductInput{
				newProduct(1999, "EUR"),
				{Name: "No description " + unique(), Price: 1, Currency: "USD"},
				{Name: "Priciest " + unique(), Description: strings.Repeat("é", 4000), Price: 100_000_000_00, Currency: "JPY"},
			} {
				p, err := api.CreateProduct(ctx, in)
				noErr(t, err, "CreateProduct")
				if p.ID == uuid.Nil {
					t.Fatalf("CreateProduct returned the nil id")
				}
				wantEqual(t, p, productOf(p.ID, in), "CreateProduct's answer")
				got, err := api.GetProduct(ctx, p.ID)
				noErr(t, err, "GetProduct")
				wantEqual(t, got, p, "GetProduct after CreateProduct")
			}
		}},
		{name: "create_invalid", run: func(t T, api catalogapi.API) {
			ctx := t.Context()
			for _, c := range []struct {
				in     catalogapi.ProductInput
				fields []string
			}{
				{catalogapi.ProductInput{}, []string{"name", "price", "currency"}},
				{catalogapi.ProductInput{Name: " padded ", Price: 100, Currency: "EUR"}, []string{"name"}},
				{catalogapi.ProductInput{Name: strings.Repeat("n", 201), Price: 100, Currency: "EUR"}, []string{"name"}},
				{catalogapi.ProductInput{Name: "Long text", Description: strings.Repeat("d", 4001), Price: 100, Currency: "EUR"}, []string{"description"}},
				{catalogapi.ProductInput{Name: "Free", Price: 0, Currency: "EUR"}, []string{"price"}},
				{catalogapi.ProductInput{Name: "Negative", Price: -1, Currency: "EUR"}, []string{"price"}},
				{catalogapi.ProductInput{Name: "Too dear", Price: 100_000_000_01, Currency: "EUR"}, []string{"price"}},
				{catalogapi.ProductInput{Name: "Max int", Price: math.MaxInt64, Currency: "EUR"}, []string{"price"}},
				{catalogapi.ProductInput{Name: "Lower case", Price: 100, Currency: "eur"}, []string{"currency"}},
				{catalogapi.ProductInput{Name: "Long code", Price: 100, Currency: "EURO"}, []string{"currency"}},
			} {
				what := fmt.Sprintf("CreateProduct(%+.60v)", c.in)
				p, err := api.CreateProduct(ctx, c.in)
				wantErr(t, err, catalogapi.ErrInvalidProduct, what)
				wantFields(t, err, what, c.fields...)
				wantEqual(t, p, catalogapi.Product{}, what+"'s result with its error")
			}
		}},
		{name: "update", run: func(t T, api catalogapi.API) {
			ctx := t.Context()
			p, err := api.CreateProduct(ctx, newProduct(500, "EUR"))
			noErr(t, err, "CreateProduct")
			_, err = api.GetProduct(ctx, p.ID) // the read cache now holds it
			noErr(t, err, "GetProduct")

			in := catalogapi.ProductInput{Name: "Renamed " + unique(), Price: 750, Currency: "USD"} // description dropped
			want := productOf(p.ID, in)
			for _, what := range []string{"UpdateProduct", "UpdateProduct repeated"} {
				got, err := api.UpdateProduct(ctx, p.ID, in)
				noErr(t, err, what)
				wantEqual(t, got, want, what+"'s answer")
				got, err = api.GetProduct(ctx, p.ID)
				noErr(t, err, "GetProduct after "+what)
				wantEqual(t, got, want, "GetProduct after "+what)
			}

			_, err = api.UpdateProduct(ctx, p.ID, catalogapi.ProductInput{Name: in.Name, Price: 0, Currency: "usd"})
			wantErr(t, err, catalogapi.ErrInvalidProduct, "UpdateProduct with bad fields")
			wantFields(t, err, "UpdateProduct with bad fields", "price", "currency")
			got, err := api.GetProduct(ctx, p.ID)
			noErr(t, err, "GetProduct after a refused update")
			wantEqual(t, got, want, "the product after a refused update")
		}},
		{name: "not_found", run: func(t T, api catalogapi.API) {
			ctx := t.Context()
			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil, uuid.Max} {
				p, err := api.GetProduct(ctx, id)
				wantErr(t, err, catalogapi.ErrProductNotFound, "GetProduct "+id.String())
				wantEqual(t, p, catalogapi.Product{}, "GetProduct's result with its error")
				_, err = api.UpdateProduct(ctx, id, newProduct(100, "EUR"))
				wantErr(t, err, catalogapi.ErrProductNotFound, "UpdateProduct "+id.String())
			}
			// Which comes first for an unknown product with bad fields is
			// not promised; it must be one of the two.
			_, err := api.UpdateProduct(ctx, uuid.New(), catalogapi.ProductInput{})
			if !isAny(err, catalogapi.ErrProductNotFound, catalogapi.ErrInvalidProduct) {
				t.Errorf("UpdateProduct of an unknown product with bad fields: err = %v", err)
			}
		}},
		{name: "list_pages", run: func(t T, api catalogapi.API) {
			ctx := t.Context()
			// Other checks create products meanwhile: ours must come back
			// in creation order, each once, among them.
			var mine []catalogapi.Product
			for range 5 {
				p, err := api.CreateProduct(ctx, newProduct(100, "EUR"))
				noErr(t, err, "CreateProduct")
				mine = append(mine, p)
			}
			// Start just before our first product: ids are UUIDv7, ordered by creation.
			seen := walkPages(t, 2, before(mine[0].ID), func(req page.Request) (page.Page[catalogapi.Product], error) {
				return api.ListProducts(ctx, req)
			}, func(p catalogapi.Product) uuid.UUID { return p.ID })
			var got []catalogapi.Product
			mineByID := map[uuid.UUID]bool{}
			for _, p := range mine {
				mineByID[p.ID] = true
			}
			for i, p := range seen {
				if i > 0 && bytes.Compare(seen[i-1].ID[:], p.ID[:]) >= 0 {
					t.Errorf("ListProducts is not in creation (id) order: %s then %s", seen[i-1].ID, p.ID)
				}
				if mineByID[p.ID] {
					got = append(got, p)
				}
			}
			wantEqual(t, got, mine, "our products in ListProducts")

			// The first page from the start of the catalog.
			first, err := api.ListProducts(ctx, page.Request{Limit: 1})
			noErr(t, err, "ListProducts of the first page")
			if len(first.Items) != 1 || first.NextCursor == nil || *first.NextCursor != page.Cursor(first.Items[0].ID) {
				t.Errorf("ListProducts(limit 1) = %+v, want one item and the cursor after it", first)
			}
			// After the last id there is nothing.
			last, err := api.ListProducts(ctx, page.Request{Limit: page.MaxLimit, After: uuid.Max})
			noErr(t, err, "ListProducts after the last id")
			if last.Items == nil || len(last.Items) != 0 || last.NextCursor != nil {
				t.Errorf("ListProducts after uuid.Max = %+v, want an empty, non-nil page without cursor", last)
			}
		}},
		{name: "list_limit_out_of_range",
			run: func(t T, api catalogapi.API) {
				_, err := api.CreateProduct(t.Context(), newProduct(100, "EUR")) // at least one product to list
				noErr(t, err, "CreateProduct")
				for _, limit := range []int{0, -1, math.MaxInt} {
					p, err := api.ListProducts(t.Context(), page.Request{Limit: limit})
					if !isAny(err, page.ErrInvalid) {
						t.Errorf("ListProducts(limit %d) = %d items, cursor %v, err %v; want page.ErrInvalid", limit, len(p.Items), p.NextCursor != nil, err)
					}
				}
			}},
		{name: "create_nul_byte",
			run: func(t T, api catalogapi.API) {
				_, err := api.CreateProduct(t.Context(), catalogapi.ProductInput{Name: "nul\x00byte", Price: 100, Currency: "EUR"})
				wantErr(t, err, catalogapi.ErrInvalidProduct, "CreateProduct with a NUL byte in its name")
			}},
		{name: "create_invalid_utf8",
			run: func(t T, api catalogapi.API) {
				p, err := api.CreateProduct(t.Context(), catalogapi.ProductInput{Name: "bad \xff byte", Price: 100, Currency: "EUR"})
				wantInvalidText(t, err, catalogapi.ErrInvalidProduct, "CreateProduct with a name of invalid UTF-8")
				if err == nil {
					t.Errorf("the product was created with name %q", p.Name)
				}
			}},
	}
}

// walkPages lists from after with limit until the last page and returns
// every item, checking the page shape on the way: items never nil, at most
// limit of them, a cursor exactly when another page follows, and the
// cursor naming the page's last item.
func walkPages[Item any](t T, limit int, after uuid.UUID, list func(page.Request) (page.Page[Item], error), id func(Item) uuid.UUID) []Item {
	t.Helper()
	var all []Item
	seen := map[uuid.UUID]bool{}
	for n := 0; ; n++ {
		if n > 10_000 {
			t.Fatalf("more than 10000 pages: the cursor does not advance")
		}
		p, err := list(page.Request{Limit: limit, After: after})
		noErr(t, err, fmt.Sprintf("page %d", n))
		if p.Items == nil {
			t.Errorf("page %d: items is nil, want a slice (JSON [])", n)
		}
		if len(p.Items) > limit {
			t.Fatalf("page %d: %d items, more than the limit %d", n, len(p.Items), limit)
		}
		for _, it := range p.Items {
			if seen[id(it)] {
				t.Errorf("page %d: %s came on an earlier page too", n, id(it))
			}
			seen[id(it)] = true
		}
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all
		}
		if len(p.Items) != limit {
			t.Fatalf("page %d: %d items and a next cursor; a page before the last is full (limit %d)", n, len(p.Items), limit)
		}
		last := id(p.Items[len(p.Items)-1])
		if got := cursorID(t, p.NextCursor); got != last {
			t.Fatalf("page %d: the next cursor names %s, want the page's last item %s", n, got, last)
		}
		after = last
	}
}

// before returns the id just below id, to list from id on.
func before(id uuid.UUID) uuid.UUID {
	for i := len(id) - 1; i >= 0; i-- {
		id[i]--
		if id[i] != 0xff { // no borrow
			break
		}
	}
	return id
}
