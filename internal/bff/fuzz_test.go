package bff_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/bff"
	"github.com/modmono/shop/modules/ordering/orderingapi"
)

type placeStub struct{ orderingapi.API }

func (placeStub) PlaceOrder(context.Context, uuid.UUID, string, orderingapi.PlaceOrderInput) (orderingapi.Placed, error) {
	return orderingapi.Placed{ID: uuid.New(), Status: orderingapi.StatusPending}, nil
}

// FuzzBodies: whatever the body of a state-changing route, the answer is
// a 2xx or a 4xx problem, never a 5xx or a panic.
func FuzzBodies(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"product_id":"` + tea.ID.String() + `","quantity":1}]}`,
		`{"items":[{"product_id":"` + tea.ID.String() + `","quantity":1}],"payment_token":"tok_ok"}`,
		`{"items":[]}`, `{"items":null}`, `null`, `[]`, `{"items":[{"product_id":"x","quantity":-1}]}`,
		`{"email":"a@b.c","password":"p"}`, "\xff", `{"items":[{"product_id":"` + tea.ID.String() + `","quantity":1e99}]}`,
	} {
		f.Add(seed)
	}
	h, tk := handler(f, bff.APIs{Ordering: placeStub{}}, bff.Options{})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/bff/cart", "/bff/checkout"} {
			r := signedIn(t, tk, post(path, body), alice)
			r.Header.Set("Idempotency-Key", "fuzz")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
				t.Fatalf("POST %s %q: %d is not a problem", path, body, rec.Code)
			}
			if rec.Code != http.StatusOK && rec.Code != http.StatusAccepted && rec.Code < 400 {
				t.Fatalf("POST %s %q: %d", path, body, rec.Code)
			}
		}
	})
}
