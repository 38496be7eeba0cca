package apicontract_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/page"
)

func TestNotifications(t *testing.T) {
	s := app(t)
	runSuite(t, s.local.notifications, s.remote.notifications, notificationsChecks(s))
}

// refunds gives a new user n payment_refunded notifications (notifications
// come from events only: here, payments refunded in process) and returns
// the user and the refunded orders, oldest first.
func (s *shop) refunds(t T, n int) (user uuid.UUID, orders []uuid.UUID) {
	t.Helper()
	user = uuid.New()
	for range n {
		in := paymentsapi.ChargeInput{OrderID: uuid.New(), CustomerID: user, Amount: 1234, Currency: "EUR", Token: paymentsapi.TokenOK}
		_, err := s.local.payments.Charge(t.Context(), in)
		noErr(t, err, "Charge")
		_, err = s.local.payments.Refund(t.Context(), in.OrderID, "")
		noErr(t, err, "Refund")
		orders = append(orders, in.OrderID)
	}
	return user, orders
}

// notified waits until the user has n notifications and returns them.
func notified(t T, api notificationsapi.API, user uuid.UUID, n int) []notificationsapi.Notification {
	t.Helper()
	var got page.Page[notificationsapi.Notification]
	eventually(t, fmt.Sprintf("%d notifications", n), func() (bool, string) {
		var err error
		got, err = api.List(t.Context(), user, page.Request{Limit: page.MaxLimit})
		noErr(t, err, "List")
		return len(got.Items) >= n, fmt.Sprintf("%d", len(got.Items))
	})
	if len(got.Items) != n || got.NextCursor != nil {
		t.Fatalf("List = %d notifications, cursor %v; want %d and no cursor", len(got.Items), got.NextCursor, n)
	}
	return got.Items
}

func notificationsChecks(s *shop) []check[notificationsapi.API] {
	return []check[notificationsapi.API]{
		{name: "list_pages", run: func(t T, api notificationsapi.API) {
			user, orders := s.refunds(t, 3)
			all := notified(t, api, user, 3)
			// Newest first: ids are UUIDv7, so they descend. Each refund is
			// told once.
			told := map[string]bool{}
			for i, n := range all {
				if i > 0 && bytes.Compare(all[i-1].ID[:], n.ID[:]) <= 0 {
					t.Errorf("List is not newest first: %s before %s", all[i-1].ID, n.ID)
				}
				if n.ID == uuid.Nil || n.UserID != user || n.Kind != notificationsapi.KindRefunded ||
					n.Subject != "Your payment was refunded" || n.CreatedAt.IsZero() {
					t.Errorf("notification %d = %+v, want a refund notification of user %s", i, n, user)
				}
				for _, o := range orders {
					if strings.Contains(n.Body, o.String()) {
						told[o.String()] = true
						if !strings.HasPrefix(n.Body, "12.34 EUR") {
							t.Errorf("notification %d: body %q, want the amount 12.34 EUR", i, n.Body)
						}
					}
				}
			}
			if len(told) != len(orders) {
				t.Errorf("the notifications tell of %d of the %d refunds", len(told), len(orders))
			}
			for _, limit := range []int{1, 2} {
				pages := walkPages(t, limit, uuid.Nil, func(req page.Request) (page.Page[notificationsapi.Notification], error) {
					return api.List(t.Context(), user, req)
				}, func(n notificationsapi.Notification) uuid.UUID { return n.ID })
				wantEqual(t, pages, all, fmt.Sprintf("List page by page (limit %d)", limit))
			}
			rest, err := api.List(t.Context(), user, page.Request{Limit: 10, After: all[1].ID})
			noErr(t, err, "List after the second")
			wantEqual(t, rest, page.Page[notificationsapi.Notification]{Items: all[2:]}, "List after the second")
		}},
		{name: "welcome", run: func(t T, api notificationsapi.API) {
			in, email, name := newAccount()
			reg, err := s.local.identity.Register(t.Context(), in)
			noErr(t, err, "Register")
			got := notified(t, api, reg.ID, 1)[0]
			want := notificationsapi.Notification{ID: got.ID, UserID: reg.ID, Kind: notificationsapi.KindWelcome,
				Subject: "Welcome to the shop", Body: fmt.Sprintf("Hello %s, your account %s is ready.", name, email), CreatedAt: got.CreatedAt}
			wantEqual(t, got, want, "the welcome notification")
			if got.ID == uuid.Nil || got.CreatedAt.IsZero() {
				t.Errorf("the welcome notification has id %s, time %v", got.ID, got.CreatedAt)
			}
		}},
		{name: "unknown_user", run: func(t T, api notificationsapi.API) {
			for _, user := range []uuid.UUID{uuid.New(), uuid.Nil, uuid.Max} {
				got, err := api.List(t.Context(), user, page.Request{Limit: 10})
				noErr(t, err, "List of user "+user.String())
				if got.Items == nil || len(got.Items) != 0 || got.NextCursor != nil {
					t.Errorf("List of user %s = %+v, want an empty, non-nil page", user, got)
				}
			}
		}},
		{name: "list_limit_out_of_range",
			run: func(t T, api notificationsapi.API) {
				user, _ := s.refunds(t, 1)
				notified(t, api, user, 1)
				for _, limit := range []int{0, -1, math.MaxInt} {
					p, err := api.List(t.Context(), user, page.Request{Limit: limit})
					if !isAny(err, page.ErrInvalid) {
						t.Errorf("List(limit %d) = %d items, cursor %v, err %v; want page.ErrInvalid", limit, len(p.Items), p.NextCursor != nil, err)
					}
				}
			}},
	}
}
