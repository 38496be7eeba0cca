package apicontract_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/page"
)

// TestSuitesBite shows that the suites notice a wrong implementation: each
// case wraps the HTTP client in an adapter broken in one way, runs a check
// of the suite against it with a recorder in place of the test, and wants
// failures. The same check first passes against the unbroken client, so
// the failures are the break's doing. Run with -v to read them.
func TestSuitesBite(t *testing.T) {
	s := app(t)
	r := s.remote
	bite[identityapi.API](t, "identity", identityChecks(s), "register_get_conflict", r.identity, codeless{r.identity},
		"Register returns its errors as plain text: the message survives, the code does not")
	bite[catalogapi.API](t, "catalog", catalogChecks(), "create_get", r.catalog, zeroProduct{r.catalog},
		"GetProduct answers the zero product without an error")
	bite[inventoryapi.API](t, "inventory", inventoryChecks(s), "reserve_all_or_nothing", r.inventory, lenientReserve{r.inventory},
		"Reserve swallows ErrInsufficientStock")
	bite[paymentsapi.API](t, "payments", paymentsChecks(), "charge_captured_once", r.payments, &doubleCharge{API: r.payments, seen: map[uuid.UUID]bool{}},
		"a repeated Charge captures again (a second payment.captured event)")
	bite[orderingapi.API](t, "ordering", orderingChecks(s), "list_orders", r.ordering, cursorless{r.ordering},
		"ListOrders drops the next cursor")
	bite[notificationsapi.API](t, "notifications", notificationsChecks(s), "list_pages", r.notifications, oldestFirst{r.notifications},
		"List answers each page oldest first")
}

// bite runs the check name against good, which must pass it, and broken,
// which must not.
func bite[API any](t *testing.T, module string, checks []check[API], name string, good, broken API, broke string) {
	t.Run(module+"/"+name, func(t *testing.T) {
		t.Parallel()
		c := pick(t, checks, name)[0]
		if failures := record(t.Context(), c, good); len(failures) > 0 {
			t.Fatalf("the check fails against the unbroken HTTP client:\n\t%s", strings.Join(failures, "\n\t"))
		}
		failures := record(t.Context(), c, broken)
		if len(failures) == 0 {
			t.Fatalf("check %s passed against a client where %s", name, broke)
		}
		t.Logf("broken: %s\ncheck %s reported %d failure(s):\n\t%s", broke, name, len(failures), strings.Join(failures, "\n\t"))
	})
}

// codeless returns Register's errors as plain text.
type codeless struct{ identityapi.API }

func (c codeless) Register(ctx context.Context, in identityapi.RegisterInput) (identityapi.Registered, error) {
	r, err := c.API.Register(ctx, in)
	if err != nil {
		err = errors.New(err.Error())
	}
	return r, err
}

// zeroProduct answers GetProduct with the zero product.
type zeroProduct struct{ catalogapi.API }

func (z zeroProduct) GetProduct(ctx context.Context, id uuid.UUID) (catalogapi.Product, error) {
	_, err := z.API.GetProduct(ctx, id)
	return catalogapi.Product{}, err
}

// lenientReserve swallows ErrInsufficientStock.
type lenientReserve struct{ inventoryapi.API }

func (l lenientReserve) Reserve(ctx context.Context, orderID uuid.UUID, lines []inventoryapi.Line) error {
	if err := l.API.Reserve(ctx, orderID, lines); !errors.Is(err, inventoryapi.ErrInsufficientStock) {
		return err
	}
	return nil
}

// doubleCharge captures again when a charge is repeated.
type doubleCharge struct {
	paymentsapi.API
	seen map[uuid.UUID]bool // one check, one goroutine: no lock needed
}

func (d *doubleCharge) Charge(ctx context.Context, in paymentsapi.ChargeInput) (paymentsapi.Payment, error) {
	p, err := d.API.Charge(ctx, in)
	if err == nil && d.seen[in.OrderID] {
		captured := p.Events[len(p.Events)-1]
		p.Events = append(p.Events, captured)
	}
	d.seen[in.OrderID] = true
	return p, err
}

// cursorless drops ListOrders' next cursor.
type cursorless struct{ orderingapi.API }

func (c cursorless) ListOrders(ctx context.Context, q orderingapi.ListQuery) (page.Page[orderingapi.OrderView], error) {
	p, err := c.API.ListOrders(ctx, q)
	p.NextCursor = nil
	return p, err
}

// oldestFirst answers each page of List oldest first.
type oldestFirst struct{ notificationsapi.API }

func (o oldestFirst) List(ctx context.Context, user uuid.UUID, req page.Request) (page.Page[notificationsapi.Notification], error) {
	p, err := o.API.List(ctx, user, req)
	slices.Reverse(p.Items)
	return p, err
}
