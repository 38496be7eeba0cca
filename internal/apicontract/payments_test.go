package apicontract_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/page"
)

func TestPayments(t *testing.T) {
	s := app(t)
	runSuite(t, s.local.payments, s.remote.payments, paymentsChecks())
}

// newCharge is a charge of a fresh order with token.
func newCharge(token string) paymentsapi.ChargeInput {
	return paymentsapi.ChargeInput{OrderID: uuid.New(), CustomerID: uuid.New(), Amount: 1234, Currency: "EUR", Token: token}
}

func eventTypes(p paymentsapi.Payment) []string {
	var types []string
	for _, e := range p.Events {
		types = append(types, e.Type)
	}
	return types
}

// wantPayment fails unless p is in's payment with status and the history
// of event types.
func wantPayment(t T, p paymentsapi.Payment, in paymentsapi.ChargeInput, status string, events []string, what string) {
	t.Helper()
	if p.ID == uuid.Nil {
		t.Errorf("%s: the payment has the nil id", what)
	}
	if p.OrderID != in.OrderID || p.CustomerID != in.CustomerID || p.Amount != in.Amount || p.Currency != in.Currency {
		t.Errorf("%s: payment of order %s, customer %s, %d %s; want order %s, customer %s, %d %s", what,
			p.OrderID, p.CustomerID, p.Amount, p.Currency, in.OrderID, in.CustomerID, in.Amount, in.Currency)
	}
	if p.Status != status {
		t.Errorf("%s: status %q, want %q", what, p.Status, status)
	}
	if (status == paymentsapi.StatusFailed) != (p.FailureReason != "") {
		t.Errorf("%s: status %q with failure reason %q", what, p.Status, p.FailureReason)
	}
	if got := eventTypes(p); !slices.Equal(got, events) {
		t.Errorf("%s: events %v, want %v", what, got, events)
	}
	for i, e := range p.Events {
		var fields map[string]any
		if e.Version < 1 || e.OccurredAt.IsZero() || json.Unmarshal(e.Data, &fields) != nil {
			t.Errorf("%s: event %d (%s) has version %d, time %v, data %s", what, i, e.Type, e.Version, e.OccurredAt, e.Data)
		}
		if i > 0 && e.OccurredAt.Before(p.Events[i-1].OccurredAt) {
			t.Errorf("%s: event %d (%s) is older than the one before it", what, i, e.Type)
		}
	}
}

// wantForOrder fails unless ForOrder lists exactly want (none when nil).
func wantForOrder(t T, api paymentsapi.API, orderID uuid.UUID, want *paymentsapi.Payment, what string) {
	t.Helper()
	got, err := api.ForOrder(t.Context(), orderID)
	noErr(t, err, "ForOrder "+what)
	w := page.Page[paymentsapi.Payment]{Items: []paymentsapi.Payment{}}
	if want != nil {
		w.Items = append(w.Items, *want)
	}
	if got.Items == nil {
		t.Errorf("ForOrder %s: items is nil, want a slice (JSON [])", what)
	}
	wantEqual(t, got, w, "ForOrder "+what)
}

// eventField returns a field of a payment's event of type typ.
func eventField(p paymentsapi.Payment, typ, field string) any {
	for _, e := range p.Events {
		if e.Type == typ {
			var fields map[string]any
			_ = json.Unmarshal(e.Data, &fields)
			return fields[field]
		}
	}
	return nil
}

var (
	capturedEvents = []string{"payment.initiated", "payment.authorized", "payment.captured"}
	refundedEvents = append(slices.Clip(capturedEvents), "payment.refunded")
	declinedEvents = []string{"payment.initiated", "payment.failed"}
)

func paymentsChecks() []check[paymentsapi.API] {
	return []check[paymentsapi.API]{
		{name: "charge_captured_once", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			in := newCharge(paymentsapi.TokenOK)
			p, err := api.Charge(ctx, in)
			noErr(t, err, "Charge")
			wantPayment(t, p, in, paymentsapi.StatusCaptured, capturedEvents, "Charge")
			if got := eventField(p, "payment.captured", "amount"); got != float64(in.Amount) {
				t.Errorf("the captured event's amount is %v, want %d", got, in.Amount)
			}
			wantForOrder(t, api, in.OrderID, &p, "after Charge")

			// Repeating the charge answers the same payment: the same id and
			// the same history, so no second capture.
			again, err := api.Charge(ctx, in)
			noErr(t, err, "Charge repeated")
			wantEqual(t, again, p, "the repeated Charge's payment")
			other := in
			other.Token = paymentsapi.TokenDecline // the card is not asked again
			again, err = api.Charge(ctx, other)
			noErr(t, err, "Charge repeated with another token")
			wantEqual(t, again, p, "the payment of a Charge repeated with another token")

			for _, change := range []func(*paymentsapi.ChargeInput){
				func(c *paymentsapi.ChargeInput) { c.Amount++ },
				func(c *paymentsapi.ChargeInput) { c.Currency = "USD" },
				func(c *paymentsapi.ChargeInput) { c.CustomerID = uuid.New() },
			} {
				mismatch := in
				change(&mismatch)
				got, err := api.Charge(ctx, mismatch)
				wantErr(t, err, paymentsapi.ErrChargeMismatch, fmt.Sprintf("Charge of the order with other details (%+v)", mismatch))
				wantEqual(t, got, paymentsapi.Payment{}, "Charge's result with ErrChargeMismatch")
			}
			wantForOrder(t, api, in.OrderID, &p, "after the repeated charges")
		}},
		{name: "charge_declined", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			for _, token := range []string{paymentsapi.TokenDecline, "tok_unknown"} {
				in := newCharge(token)
				p, err := api.Charge(ctx, in)
				wantErr(t, err, paymentsapi.ErrDeclined, "Charge with "+token)
				// No result comes with an error (it could not cross the wire).
				wantEqual(t, p, paymentsapi.Payment{}, "Charge's result with ErrDeclined")
				got, err := api.ForOrder(ctx, in.OrderID)
				noErr(t, err, "ForOrder")
				if len(got.Items) != 1 {
					t.Fatalf("ForOrder after a declined charge: %d payments, want 1", len(got.Items))
				}
				failed := got.Items[0]
				wantPayment(t, failed, in, paymentsapi.StatusFailed, declinedEvents, "ForOrder after a declined Charge")

				_, err = api.Charge(ctx, in)
				wantErr(t, err, paymentsapi.ErrDeclined, "Charge with "+token+" repeated")
				_, err = api.Refund(ctx, in.OrderID, "")
				wantErr(t, err, paymentsapi.ErrNotCaptured, "Refund of a declined payment")
				noErr(t, api.Cancel(ctx, in.OrderID, ""), "Cancel of a declined payment")
				wantForOrder(t, api, in.OrderID, &failed, "after repeated calls on a declined payment")
			}
		}},
		{name: "charge_invalid", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			p, err := api.Charge(ctx, paymentsapi.ChargeInput{})
			wantErr(t, err, paymentsapi.ErrInvalidCharge, "Charge of the zero input")
			wantFields(t, err, "Charge of the zero input", "order_id", "customer_id", "amount", "currency", "token")
			wantEqual(t, p, paymentsapi.Payment{}, "Charge's result with its error")
			for _, c := range []struct {
				change func(*paymentsapi.ChargeInput)
				field  string
			}{
				{func(c *paymentsapi.ChargeInput) { c.Amount = 0 }, "amount"},
				{func(c *paymentsapi.ChargeInput) { c.Amount = -1 }, "amount"},
				{func(c *paymentsapi.ChargeInput) { c.Amount = 1 << 53 }, "amount"},
				{func(c *paymentsapi.ChargeInput) { c.Amount = math.MaxInt64 }, "amount"},
				{func(c *paymentsapi.ChargeInput) { c.Currency = "eur" }, "currency"},
				{func(c *paymentsapi.ChargeInput) { c.Token = strings.Repeat("t", 201) }, "token"},
			} {
				in := newCharge(paymentsapi.TokenOK)
				c.change(&in)
				what := fmt.Sprintf("Charge with a bad %s", c.field)
				_, err := api.Charge(ctx, in)
				wantErr(t, err, paymentsapi.ErrInvalidCharge, what)
				wantFields(t, err, what, c.field)
				wantForOrder(t, api, in.OrderID, nil, "after "+what)
			}
			// The largest amount every JSON client reads exactly is accepted.
			in := newCharge(paymentsapi.TokenOK)
			in.Amount = 1<<53 - 1
			p, err = api.Charge(ctx, in)
			noErr(t, err, "Charge of 2^53-1")
			wantPayment(t, p, in, paymentsapi.StatusCaptured, capturedEvents, "Charge of 2^53-1")
		}},
		{name: "cancel_before_charge", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			in := newCharge(paymentsapi.TokenOK)
			noErr(t, api.Cancel(ctx, in.OrderID, ""), "Cancel of an order without payment")
			noErr(t, api.Cancel(ctx, in.OrderID, "again"), "Cancel repeated")
			wantForOrder(t, api, in.OrderID, nil, "after Cancel")
			p, err := api.Charge(ctx, in)
			wantErr(t, err, paymentsapi.ErrCancelled, "Charge after Cancel")
			wantEqual(t, p, paymentsapi.Payment{}, "the payment of a Charge refused after Cancel")
			_, err = api.Refund(ctx, in.OrderID, "")
			wantErr(t, err, paymentsapi.ErrPaymentNotFound, "Refund of a cancelled order without payment")
			wantForOrder(t, api, in.OrderID, nil, "after the refused Charge")
		}},
		{name: "cancel_captured", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			in := newCharge(paymentsapi.TokenOK)
			_, err := api.Charge(ctx, in)
			noErr(t, err, "Charge")
			noErr(t, api.Cancel(ctx, in.OrderID, "  changed my mind "), "Cancel of a captured payment")
			got, err := api.ForOrder(ctx, in.OrderID)
			noErr(t, err, "ForOrder")
			if len(got.Items) != 1 {
				t.Fatalf("ForOrder after Cancel: %d payments, want 1", len(got.Items))
			}
			refunded := got.Items[0]
			wantPayment(t, refunded, in, paymentsapi.StatusRefunded, refundedEvents, "the payment after Cancel")
			if r := eventField(refunded, "payment.refunded", "reason"); r != "changed my mind" {
				t.Errorf("the refund's reason is %v, want the trimmed reason of Cancel", r)
			}
			noErr(t, api.Cancel(ctx, in.OrderID, ""), "Cancel repeated")
			_, err = api.Charge(ctx, in)
			wantErr(t, err, paymentsapi.ErrCancelled, "Charge after Cancel")
			p, err := api.Refund(ctx, in.OrderID, "")
			noErr(t, err, "Refund of the refunded payment")
			wantEqual(t, p, refunded, "Refund's answer for a refunded payment")
			wantForOrder(t, api, in.OrderID, &refunded, "after the repeated calls")
		}},
		{name: "refund", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			in := newCharge(paymentsapi.TokenOK)
			_, err := api.Charge(ctx, in)
			noErr(t, err, "Charge")
			p, err := api.Refund(ctx, in.OrderID, "")
			noErr(t, err, "Refund")
			wantPayment(t, p, in, paymentsapi.StatusRefunded, refundedEvents, "Refund's answer")
			if r := eventField(p, "payment.refunded", "reason"); r != "refund requested" {
				t.Errorf("the refund's reason is %v, want the default reason", r)
			}
			if got := eventField(p, "payment.refunded", "amount"); got != float64(in.Amount) {
				t.Errorf("the refunded amount is %v, want %d", got, in.Amount)
			}
			again, err := api.Refund(ctx, in.OrderID, "another reason")
			noErr(t, err, "Refund repeated")
			wantEqual(t, again, p, "the repeated Refund's answer")
			wantForOrder(t, api, in.OrderID, &p, "after Refund")
		}},
		{name: "refund_and_cancel_errors", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil} {
				_, err := api.Refund(ctx, id, "")
				wantErr(t, err, paymentsapi.ErrPaymentNotFound, "Refund of order "+id.String())
			}
			in := newCharge(paymentsapi.TokenOK)
			p, err := api.Charge(ctx, in)
			noErr(t, err, "Charge")
			long := strings.Repeat("é", 501)
			_, err = api.Refund(ctx, in.OrderID, long)
			wantErr(t, err, paymentsapi.ErrInvalidReason, "Refund with a reason of 501 characters")
			wantErr(t, api.Cancel(ctx, in.OrderID, long), paymentsapi.ErrInvalidReason, "Cancel with a reason of 501 characters")
			wantForOrder(t, api, in.OrderID, &p, "after refused calls")
			noErr(t, api.Cancel(ctx, uuid.New(), long[:1000]), "Cancel with a reason of 500 characters")
		}},
		{name: "for_order_unknown", run: func(t T, api paymentsapi.API) {
			for _, id := range []uuid.UUID{uuid.New(), uuid.Nil, uuid.Max} {
				wantForOrder(t, api, id, nil, "of order "+id.String())
			}
		}},
		{name: "charge_times_out", run: func(t T, api paymentsapi.API) {
			ctx := t.Context()
			in := newCharge(paymentsapi.TokenSlow)
			p, err := api.Charge(ctx, in)
			wantErr(t, err, paymentsapi.ErrProviderTimeout, "Charge with tok_slow")
			wantEqual(t, p, paymentsapi.Payment{}, "Charge's result with ErrProviderTimeout")
			wantForOrder(t, api, in.OrderID, nil, "after a timed-out charge (its outcome is unknown)")
			// Cancel makes sure nothing is charged.
			noErr(t, api.Cancel(ctx, in.OrderID, "timed out"), "Cancel after the timeout")
			got, err := api.ForOrder(ctx, in.OrderID)
			noErr(t, err, "ForOrder after Cancel")
			if len(got.Items) != 1 {
				t.Fatalf("ForOrder after Cancel: %d payments, want 1", len(got.Items))
			}
			wantPayment(t, got.Items[0], in, paymentsapi.StatusFailed, []string{"payment.initiated", "payment.voided"}, "the voided payment")
			_, err = api.Charge(ctx, in)
			wantErr(t, err, paymentsapi.ErrCancelled, "Charge after Cancel")
			_, err = api.Refund(ctx, in.OrderID, "")
			wantErr(t, err, paymentsapi.ErrNotCaptured, "Refund of a voided payment")
		}},
	}
}
