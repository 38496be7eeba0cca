package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/apperr"
)

var (
	tea    = domain.Product{ID: uuid.New(), Name: "Tea", Price: 450, Currency: "EUR"}
	pot    = domain.Product{ID: uuid.New(), Name: "Pot", Price: 4900, Currency: "EUR"}
	dollar = domain.Product{ID: uuid.New(), Name: "Mug", Price: 900, Currency: "USD"}
	known  = map[uuid.UUID]domain.Product{tea.ID: tea, pot.ID: pot, dollar.ID: dollar}
	now    = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func input(token string, lines ...orderingapi.LineInput) orderingapi.PlaceOrderInput {
	return orderingapi.PlaceOrderInput{Items: lines, Payment: orderingapi.PaymentInput{Token: token}}
}

func TestNewOrderPricesLines(t *testing.T) {
	t.Parallel()
	o, err := domain.NewOrder(uuid.New(), uuid.New(), input("tok_ok",
		orderingapi.LineInput{ProductID: tea.ID, Quantity: 3}, orderingapi.LineInput{ProductID: pot.ID, Quantity: 1}), known, now)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Snapshot()
	if s.Total != 3*450+4900 || s.Currency != "EUR" || s.Status != orderingapi.StatusPending || len(s.Items) != 2 ||
		s.Items[0].LineTotal != 1350 || s.Items[0].Name != "Tea" || o.Revision() != 1 {
		t.Fatalf("%+v", s)
	}
}

func TestNewOrderRejects(t *testing.T) {
	t.Parallel()
	many := make([]orderingapi.LineInput, domain.MaxLines+1)
	for i := range many {
		many[i] = orderingapi.LineInput{ProductID: uuid.New(), Quantity: 1}
	}
	for name, tc := range map[string]struct {
		in   orderingapi.PlaceOrderInput
		want error
	}{
		"no lines":         {input("tok_ok"), orderingapi.ErrInvalidOrder},
		"too many lines":   {input("tok_ok", many...), orderingapi.ErrInvalidOrder},
		"zero quantity":    {input("tok_ok", orderingapi.LineInput{ProductID: tea.ID}), orderingapi.ErrInvalidOrder},
		"huge quantity":    {input("tok_ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1001}), orderingapi.ErrInvalidOrder},
		"negative":         {input("tok_ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: -1}), orderingapi.ErrInvalidOrder},
		"twice a product":  {input("tok_ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}, orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}), orderingapi.ErrInvalidOrder},
		"nil product":      {input("tok_ok", orderingapi.LineInput{Quantity: 1}), orderingapi.ErrInvalidOrder},
		"no token":         {input("", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}), orderingapi.ErrInvalidOrder},
		"token with space": {input("tok ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}), orderingapi.ErrInvalidOrder},
		"long token":       {input(strings.Repeat("t", 65), orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}), orderingapi.ErrInvalidOrder},
		"unknown product":  {input("tok_ok", orderingapi.LineInput{ProductID: uuid.New(), Quantity: 1}), orderingapi.ErrUnknownProduct},
		"mixed currency": {input("tok_ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1},
			orderingapi.LineInput{ProductID: dollar.ID, Quantity: 1}), orderingapi.ErrMixedCurrency},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := domain.NewOrder(uuid.New(), uuid.New(), tc.in, known, now)
			if !errors.Is(err, tc.want) || apperr.KindOf(err) == apperr.KindInternal {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	o, _ := domain.NewOrder(uuid.New(), uuid.New(), input("tok_ok", orderingapi.LineInput{ProductID: tea.ID, Quantity: 1}), known, now)
	if err := o.Confirm(now); err != nil || o.Status() != orderingapi.StatusConfirmed || o.Revision() != 2 {
		t.Fatalf("confirm: %v %s", err, o.Status())
	}
	if err := o.Confirm(now); err == nil {
		t.Fatal("confirmed twice")
	}
	if err := o.Cancel("changed my mind", now); err != nil || o.State().FailureReason != "changed my mind" || o.Revision() != 3 {
		t.Fatalf("cancel: %v %+v", err, o.State())
	}
	if err := o.Cancel("again", now); err == nil {
		t.Fatal("cancelled twice")
	}
}

// The saga's steps form the chains SPEC §6 describes: forward until done,
// and on failure the completed steps are undone in reverse.
func TestSagaChains(t *testing.T) {
	t.Parallel()
	walk := func(s domain.Step) []domain.Step {
		var out []domain.Step
		for ; s != domain.StepDone; s = s.Next() {
			out = append(out, s)
		}
		return out
	}
	check := func(name string, got []domain.Step, want ...domain.Step) {
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", name, got, want)
			}
		}
	}
	check("checkout", walk(domain.StepReserve), domain.StepReserve, domain.StepCharge, domain.StepConfirm)
	reserveFailed, _ := domain.StepReserve.Compensation()
	check("stock failed", walk(reserveFailed), domain.StepRelease, domain.StepCancel)
	chargeFailed, _ := domain.StepCharge.Compensation()
	check("payment failed", walk(chargeFailed), domain.StepCancelPayment, domain.StepRelease, domain.StepCancel)
	check("customer cancels", walk(domain.StepRefund), domain.StepRefund, domain.StepRestock, domain.StepCancel)
	for _, s := range []domain.Step{domain.StepConfirm, domain.StepCancelPayment, domain.StepRelease, domain.StepRefund, domain.StepRestock, domain.StepCancel} {
		if _, ok := s.Compensation(); ok {
			t.Errorf("%s has a compensation: it must be retried until it succeeds", s)
		}
	}
}
