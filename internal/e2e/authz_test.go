package e2e_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// authorizationMatrix calls every route as every kind of caller.
func authorizationMatrix(t *testing.T, app *process) {
	admin := app.admin(t)
	owner, other := app.newCustomer(t), app.newCustomer(t)
	tea := stocked(t, admin, 450, 100)
	orderID := place(t, owner.client, "tok_ok", tea, 1)
	settled(t, owner.client, orderID)
	anonymous := app.as("")

	callers := map[string]*process{"anonymous": anonymous, "owner": owner.client, "other": other.client, "admin": admin}
	product := func() string { return `{"name":"X","price":100,"currency":"EUR"}` }
	for _, route := range []struct {
		method, path string
		body         func() string
		want         map[string]int // by caller; 0 = skip
	}{
		{"GET", "/api/v1/products", nil, map[string]int{"anonymous": 200, "owner": 200, "other": 200, "admin": 200}},
		{"GET", "/api/v1/products/" + tea.ID, nil, map[string]int{"anonymous": 200, "owner": 200, "admin": 200}},
		{"GET", "/api/v1/products/" + tea.ID + "/details", nil, map[string]int{"anonymous": 200, "owner": 200, "admin": 200}},
		{"POST", "/api/v1/products", product, map[string]int{"anonymous": 401, "owner": 403, "other": 403, "admin": 201}},
		{"PUT", "/api/v1/products/" + tea.ID, func() string { return `{"name":"Tea","price":450,"currency":"EUR"}` },
			map[string]int{"anonymous": 401, "owner": 403, "admin": 200}},
		{"GET", "/api/v1/inventory/" + tea.ID, nil, map[string]int{"anonymous": 200, "owner": 200, "admin": 200}},
		{"PUT", "/api/v1/inventory/" + tea.ID, func() string { return `{"on_hand":99}` },
			map[string]int{"anonymous": 401, "owner": 403, "other": 403, "admin": 200}},
		{"POST", "/api/v1/orders", func() string { return orderBody("tok_ok", tea, 1) },
			map[string]int{"anonymous": 401, "owner": 202, "admin": 403}},
		{"GET", "/api/v1/orders", nil, map[string]int{"anonymous": 401, "owner": 200, "other": 200, "admin": 403}},
		{"GET", "/api/v1/orders/" + orderID, nil, map[string]int{"anonymous": 401, "owner": 200, "other": 403, "admin": 200}},
		{"POST", "/api/v1/orders/" + orderID + "/cancel", nil, map[string]int{"anonymous": 401, "other": 403}},
		{"GET", "/api/v1/payments?order_id=" + orderID, nil, map[string]int{"anonymous": 401, "owner": 200, "other": 403, "admin": 200}},
		{"GET", "/api/v1/notifications", nil, map[string]int{"anonymous": 401, "owner": 200, "other": 200}},
		{"GET", "/api/v1/admin/dead-letters", nil, map[string]int{"anonymous": 401, "owner": 403, "admin": 200}},
		{"POST", "/api/v1/admin/dead-letters/" + uuid.NewString() + "/replay", nil, map[string]int{"anonymous": 401, "owner": 403, "admin": 404}},
	} {
		for who, want := range route.want {
			var body any
			if route.body != nil {
				body = route.body()
			}
			r := callers[who].do(route.method, route.path, body, "Idempotency-Key", uuid.NewString())
			if r.status != want {
				t.Errorf("%s %s as %s: %d, want %d: %.200s", route.method, route.path, who, r.status, want, r.body)
			}
			if r.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: 401 without WWW-Authenticate", route.method, route.path, who)
			}
		}
	}
	// The owner may cancel their confirmed order; the admin may cancel anyone's.
	if r := owner.client.do("POST", "/api/v1/orders/"+orderID+"/cancel", nil); r.status != 200 && r.status != 202 {
		t.Errorf("owner cancels: %d %s", r.status, r.body)
	}
}
