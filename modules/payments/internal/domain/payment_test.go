package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/paymentsapi"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func charge() paymentsapi.ChargeInput {
	return paymentsapi.ChargeInput{OrderID: uuid.New(), CustomerID: uuid.New(), Amount: 1999, Currency: "EUR", Token: paymentsapi.TokenOK}
}

func mustInitiate(t *testing.T) *domain.Payment {
	t.Helper()
	p, err := domain.Initiate(uuid.New(), charge(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func must(t *testing.T, _ []domain.Recorded, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// lifecycle drives a payment through every step and returns it.
func lifecycle(t *testing.T) *domain.Payment {
	p := mustInitiate(t)
	at := t0
	next := func() time.Time { at = at.Add(time.Second); return at }
	rs, err := p.Authorize(domain.Outcome{Ref: "auth_1", Method: domain.MethodCard}, next())
	must(t, rs, err)
	rs, err = p.Capture(domain.Outcome{Ref: "cap_1"}, next())
	must(t, rs, err)
	rs, err = p.Refund(domain.Outcome{Ref: "ref_1"}, "customer changed their mind", next())
	must(t, rs, err)
	return p
}

func TestReplayEqualsLive(t *testing.T) {
	t.Parallel()
	live := lifecycle(t)
	_, events := live.Uncommitted()
	replayed, err := domain.Rebuild(nil, events)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(replayed.State(), live.State()) {
		t.Fatalf("replayed %+v\nlive     %+v", replayed.State(), live.State())
	}
	if s := live.State(); s.Status != "refunded" || s.Version != 4 || s.ProviderRef != "ref_1" {
		t.Fatalf("live state %+v", s)
	}
}

// A snapshot at every position plus the events after it equals the full
// replay, also after the snapshot has been through its JSON.
func TestSnapshotPlusTailEqualsReplay(t *testing.T) {
	t.Parallel()
	live := lifecycle(t)
	_, events := live.Uncommitted()
	for cut := 1; cut <= len(events); cut++ {
		head, err := domain.Rebuild(nil, events[:cut])
		if err != nil {
			t.Fatal(err)
		}
		data, err := head.EncodeSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		state, ok := domain.DecodeSnapshot(domain.SnapshotVersion, cut, data)
		if !ok {
			t.Fatalf("cut %d: snapshot %s refused", cut, data)
		}
		p, err := domain.Rebuild(state, events[cut:])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.State(), live.State()) {
			t.Fatalf("cut %d: %+v\nwant %+v", cut, p.State(), live.State())
		}
	}
}

func TestUnusableSnapshotsAreRefused(t *testing.T) {
	t.Parallel()
	data, err := lifecycle(t).EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		schema, version int
		data            string
	}{
		"unknown schema":   {domain.SnapshotVersion + 1, 4, string(data)},
		"wrong version":    {domain.SnapshotVersion, 3, string(data)},
		"unknown field":    {domain.SnapshotVersion, 4, strings.Replace(string(data), `{`, `{"extra":1,`, 1)},
		"unknown status":   {domain.SnapshotVersion, 4, strings.Replace(string(data), `"refunded"`, `"teleported"`, 1)},
		"not json":         {domain.SnapshotVersion, 4, "nope"},
		"empty state json": {domain.SnapshotVersion, 0, "{}"},
	} {
		if _, ok := domain.DecodeSnapshot(tc.schema, tc.version, []byte(tc.data)); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEveryEventRoundTrips(t *testing.T) {
	t.Parallel()
	for _, e := range domain.Events() {
		typ, version, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := domain.Decode(typ, version, data)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("%s: got %#v", typ, got)
		}
	}
}

func TestAuthorizedV1IsUpcast(t *testing.T) {
	t.Parallel()
	e, err := domain.Decode(domain.TypeAuthorized, 1, []byte(`{"auth_code":"AUTH-123"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Authorized{ProviderRef: "AUTH-123", Method: domain.MethodCard}
	if e != want {
		t.Fatalf("got %#v, want %#v", e, want)
	}
	if (domain.Authorized{}).EventVersion() != 2 {
		t.Fatal("payment.authorized is written at version 2")
	}
}

func TestDecodeRefusesWhatItDoesNotKnow(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		typ     string
		version int
		data    string
	}{
		"unknown type":      {"payment.teleported", 1, `{}`},
		"future version":    {domain.TypeAuthorized, 3, `{"provider_ref":"x","method":"card"}`},
		"version zero":      {domain.TypeCaptured, 0, `{}`},
		"unknown field":     {domain.TypeCaptured, 1, `{"provider_ref":"x","amount":1,"extra":true}`},
		"v2 shape as v1":    {domain.TypeAuthorized, 1, `{"provider_ref":"x","method":"card"}`},
		"wrong field types": {domain.TypeCaptured, 1, `{"amount":"ten"}`},
	} {
		if e, err := domain.Decode(tc.typ, tc.version, []byte(tc.data)); err == nil {
			t.Errorf("%s: decoded %#v", name, e)
		}
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	ok := domain.Outcome{Ref: "r"}
	declined := domain.Outcome{Declined: domain.DeclinedCard}
	for name, tc := range map[string]struct {
		steps []func(p *domain.Payment) ([]domain.Recorded, error)
		want  domain.Status
		err   error // of the last step
	}{
		"authorized": {steps: steps(authorize(ok)), want: domain.StatusAuthorized},
		"declined":   {steps: steps(authorize(declined)), want: domain.StatusFailed},
		"captured":   {steps: steps(authorize(ok), capture(ok)), want: domain.StatusCaptured},
		"capture declined": {steps: steps(authorize(ok), capture(domain.Outcome{Declined: domain.DeclinedVoided})),
			want: domain.StatusFailed},
		"voided while initiated":             {steps: steps(void), want: domain.StatusVoided},
		"voided when authorized":             {steps: steps(authorize(ok), void), want: domain.StatusVoided},
		"refunded":                           {steps: steps(authorize(ok), capture(ok), refund(ok)), want: domain.StatusRefunded},
		"refund refused":                     {steps: steps(authorize(ok), capture(ok), refund(declined)), want: domain.StatusCaptured, err: paymentsapi.ErrProviderRefused},
		"capture before authorize":           {steps: steps(capture(ok)), want: domain.StatusInitiated, err: domain.ErrTransition},
		"capture twice":                      {steps: steps(authorize(ok), capture(ok), capture(ok)), want: domain.StatusCaptured, err: domain.ErrTransition},
		"void after capture":                 {steps: steps(authorize(ok), capture(ok), void), want: domain.StatusCaptured, err: domain.ErrTransition},
		"refund uncaptured":                  {steps: steps(authorize(ok), refund(ok)), want: domain.StatusAuthorized, err: domain.ErrTransition},
		"authorize after decline":            {steps: steps(authorize(declined), authorize(ok)), want: domain.StatusFailed, err: domain.ErrTransition},
		"capture recovered while initiated":  {steps: steps(recoverCapture(ok)), want: domain.StatusCaptured},
		"capture recovered when authorized":  {steps: steps(authorize(ok), recoverCapture(ok)), want: domain.StatusCaptured},
		"recovered capture refunded":         {steps: steps(recoverCapture(ok), refund(ok)), want: domain.StatusRefunded},
		"capture recovered twice":            {steps: steps(recoverCapture(ok), recoverCapture(ok)), want: domain.StatusCaptured, err: domain.ErrTransition},
		"declined capture recovered at once": {steps: steps(recoverCapture(declined)), want: domain.StatusInitiated, err: domain.ErrTransition},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := mustInitiate(t)
			var err error
			for _, step := range tc.steps {
				_, err = step(p)
			}
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			if p.Status() != tc.want {
				t.Fatalf("status %s, want %s", p.Status(), tc.want)
			}
		})
	}
}

type step = func(p *domain.Payment) ([]domain.Recorded, error)

func steps(s ...step) []step { return s }

func authorize(o domain.Outcome) step {
	return func(p *domain.Payment) ([]domain.Recorded, error) { return p.Authorize(o, t0) }
}

func capture(o domain.Outcome) step {
	return func(p *domain.Payment) ([]domain.Recorded, error) { return p.Capture(o, t0) }
}

func recoverCapture(o domain.Outcome) step {
	return func(p *domain.Payment) ([]domain.Recorded, error) { return p.RecoverCapture(o, t0) }
}

func refund(o domain.Outcome) step {
	return func(p *domain.Payment) ([]domain.Recorded, error) { return p.Refund(o, "r", t0) }
}

func void(p *domain.Payment) ([]domain.Recorded, error) { return p.Void("order cancelled", t0) }

// A clock that goes back does not make events go back.
func TestEventTimesNeverGoBack(t *testing.T) {
	t.Parallel()
	p := mustInitiate(t)
	rs, err := p.Authorize(domain.Outcome{Ref: "a"}, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].OccurredAt.Equal(t0) {
		t.Fatalf("authorized at %s, before its initiation at %s", rs[0].OccurredAt, t0)
	}
}

func TestView(t *testing.T) {
	t.Parallel()
	p := mustInitiate(t)
	if p.Visible() {
		t.Fatal("an initiated payment is not shown")
	}
	if _, err := p.Void("stock ran out", t0); err != nil {
		t.Fatal(err)
	}
	_, events := p.Uncommitted()
	v, err := p.View(events)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != paymentsapi.StatusFailed || v.FailureReason != "voided: stock ran out" || len(v.Events) != 2 {
		t.Fatalf("view %+v", v)
	}
	body, err := json.Marshal(v.Events[1])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got["type"] != domain.TypeVoided || got["version"] != 1.0 || got["reason"] != "stock ran out" || got["occurred_at"] == nil {
		t.Fatalf("event JSON %s", body)
	}

	if domain.CancelUnpaid(uuid.New(), uuid.New(), "r", t0).Visible() {
		t.Fatal("an order cancelled before any charge has no payment to show")
	}
}

func TestValidateCharge(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*paymentsapi.ChargeInput){
		"no order":       func(in *paymentsapi.ChargeInput) { in.OrderID = uuid.Nil },
		"no customer":    func(in *paymentsapi.ChargeInput) { in.CustomerID = uuid.Nil },
		"zero amount":    func(in *paymentsapi.ChargeInput) { in.Amount = 0 },
		"huge amount":    func(in *paymentsapi.ChargeInput) { in.Amount = domain.MaxAmount + 1 },
		"bad currency":   func(in *paymentsapi.ChargeInput) { in.Currency = "eur" },
		"no token":       func(in *paymentsapi.ChargeInput) { in.Token = "" },
		"too long token": func(in *paymentsapi.ChargeInput) { in.Token = strings.Repeat("t", 201) },
	} {
		in := charge()
		mutate(&in)
		if err := domain.ValidateCharge(in); !errors.Is(err, paymentsapi.ErrInvalidCharge) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if err := domain.ValidateCharge(charge()); err != nil {
		t.Fatal(err)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	in := charge()
	p, err := domain.Initiate(uuid.New(), in, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Matches(in); err != nil {
		t.Fatal(err)
	}
	other := in
	other.Amount++
	if err := p.Matches(other); !errors.Is(err, paymentsapi.ErrChargeMismatch) {
		t.Fatalf("got %v", err)
	}
	other = in
	other.Token = paymentsapi.TokenDecline // a token is not part of the payment
	if err := p.Matches(other); err != nil {
		t.Fatal(err)
	}
}

func TestRebuildRefusesBrokenStreams(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	opened := domain.Recorded{Version: 1, OccurredAt: t0, Event: domain.Initiated{PaymentID: id, Amount: 1, Currency: "EUR"}}
	for name, events := range map[string][]domain.Recorded{
		"gap":              {opened, {Version: 3, Event: domain.Authorized{}}},
		"no opening event": {{Version: 1, Event: domain.Authorized{}}},
		"opened twice":     {opened, {Version: 2, Event: domain.Cancelled{PaymentID: id}}},
	} {
		if _, err := domain.Rebuild(nil, events); err == nil {
			t.Errorf("%s: rebuilt", name)
		}
	}
}
