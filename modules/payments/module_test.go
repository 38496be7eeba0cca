package payments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/modules/payments"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/pgtest"
)

// TestPaymentsRoute runs the module in an fx application like the monolith
// does and asks GET /api/v1/payments as the owner, another customer, an
// admin and nobody.
func TestPaymentsRoute(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DATABASE_URL":   pgtest.NewDatabase(t),
		"APP_JWT_SECRET": "test-secret-of-at-least-thirty-two-bytes",
		"APP_DATA_DIR":   t.TempDir(),
	}
	// Read as cmd/app reads them: the process settings, then the module's.
	r := config.NewReader(func(k string) string { return env[k] })
	cfg := config.Read(r, []string{payments.Name})
	settings := payments.Definition.Settings(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	var (
		h   *host.HTTP
		api paymentsapi.API
	)
	// Identity is not in this test: it supplies the keys identity would publish.
	key := authtest.NewKey(t)
	app := fx.New(host.Platform(cfg, zaptest.NewLogger(t), nil), settings, payments.Module, fx.Invoke(host.Run), fx.NopLogger,
		fx.Provide(func() auth.KeySource { return key.Signer }),
		fx.Populate(&h, &api))
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop(context.Background()) })

	owner, other, admin := uuid.New(), uuid.New(), uuid.New()
	in := paymentsapi.ChargeInput{OrderID: uuid.New(), CustomerID: owner, Amount: 1250, Currency: "EUR", Token: paymentsapi.TokenOK}
	if _, err := api.Charge(ctx, in); err != nil {
		t.Fatal(err)
	}
	token := func(id uuid.UUID, role auth.Role) string {
		return key.TokenFor(t, auth.Principal{UserID: id, Role: role})
	}
	get := func(query, bearer string) (int, []byte) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/payments"+query, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		h.Root.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	ownerToken, otherToken, adminToken := token(owner, auth.Customer), token(other, auth.Customer), token(admin, auth.Admin)
	order := "?order_id=" + in.OrderID.String()

	rec := httptest.NewRecorder()
	h.Root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\npayments_provider_breaker_state 0\n") {
		t.Fatalf("/metrics lacks the closed breaker gauge:\n%s", rec.Body)
	}

	for name, tc := range map[string]struct {
		query, bearer string
		status        int
		code          string // of a problem
		items         int    // of a 200
	}{
		"owner":                  {order, ownerToken, 200, "", 1},
		"admin":                  {order, adminToken, 200, "", 1},
		"another customer":       {order, otherToken, 403, "auth.forbidden", 0},
		"anonymous":              {order, "", 401, "auth.unauthenticated", 0},
		"unknown order":          {"?order_id=" + uuid.NewString(), otherToken, 200, "", 0},
		"missing order_id":       {"", ownerToken, 400, "http.invalid_query", 0},
		"order_id is not a UUID": {"?order_id=42", ownerToken, 400, "http.invalid_query", 0},
		"bad limit":              {order + "&limit=0", ownerToken, 400, "http.invalid_page", 0},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := get(tc.query, tc.bearer)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status != 200 {
				var problem struct{ Code string }
				if err := json.Unmarshal(body, &problem); err != nil || problem.Code != tc.code {
					t.Fatalf("problem %s, want code %s", body, tc.code)
				}
				return
			}
			var page struct {
				Items      []paymentsapi.Payment `json:"items"`
				NextCursor *string               `json:"next_cursor"`
			}
			if err := json.Unmarshal(body, &page); err != nil || page.Items == nil || page.NextCursor != nil {
				t.Fatalf("body %s (%v)", body, err)
			}
			if len(page.Items) != tc.items {
				t.Fatalf("%d items, want %d: %s", len(page.Items), tc.items, body)
			}
			if tc.items == 1 {
				p := page.Items[0]
				if p.OrderID != in.OrderID || p.Status != paymentsapi.StatusCaptured || p.Amount != 1250 || p.Currency != "EUR" || len(p.Events) != 3 {
					t.Fatalf("payment %s", body)
				}
				if p.Events[2].Type != "payment.captured" || p.Events[2].Version != 1 || p.Events[2].OccurredAt.IsZero() {
					t.Fatalf("history %s", body)
				}
			}
		})
	}
}
