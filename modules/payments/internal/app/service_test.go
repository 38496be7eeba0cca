package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/modmono/shop/modules/payments/internal/adapters/pg"
	"github.com/modmono/shop/modules/payments/internal/app"
	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/internal/provider"
	"github.com/modmono/shop/modules/payments/internal/testdb"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// env is a payments service over a fresh database and the fake provider.
type env struct {
	db       *pgxdb.DB
	payments *pg.Payments
	fake     *provider.Fake
	reg      *prometheus.Registry
	svc      *app.Service
	trips    *pgtest.Trips // what the service asks of Postgres, with options.countTrips
}

// options changes the environment; zero values keep the module's defaults.
type options struct {
	guard         provider.GuardConfig // Timeout defaults to 5s
	slowDelay     time.Duration        // of tok_slow; default 2 × the timeout, as in the module
	inner         func(*provider.Fake) domain.Provider
	clock         func() time.Time
	snapshotEvery int
	countTrips    bool // the service gets a one-connection pool that counts its round trips
}

func newEnv(t testing.TB, o options) *env {
	t.Helper()
	if o.guard.Timeout == 0 {
		o.guard.Timeout = 5 * time.Second
	}
	if o.slowDelay == 0 {
		o.slowDelay = 2 * o.guard.Timeout
	}
	e := &env{db: testdb.Open(t), fake: provider.NewFake(o.slowDelay), reg: prometheus.NewRegistry()}
	db := e.db
	if o.countTrips {
		db, e.trips = pgtest.Counting(t, e.db)
	}
	e.payments = pg.NewPayments(db)
	if o.snapshotEvery != 0 {
		e.payments.SnapshotEvery = o.snapshotEvery
	}
	var inner domain.Provider = e.fake
	if o.inner != nil {
		inner = o.inner(e.fake)
	}
	guarded, err := provider.NewGuard(inner, o.guard, e.reg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = app.New(e.payments, guarded, o.clock)
	return e
}

func chargeInput(token string) paymentsapi.ChargeInput {
	return paymentsapi.ChargeInput{OrderID: uuid.New(), CustomerID: uuid.New(), Amount: 4250, Currency: "EUR", Token: token}
}

// events counts the stored events of a type for an order's payment.
func (e *env) events(t *testing.T, orderID uuid.UUID, typ string) int {
	return testdb.Count(t, e.db, `SELECT count(*) FROM events e JOIN payment_orders o ON o.payment_id = e.stream_id
		WHERE o.order_id = $1 AND e.type = $2`, orderID, typ)
}

// outbox counts the integration events of a type about an order.
func (e *env) outbox(t *testing.T, orderID uuid.UUID, topic string) int {
	return testdb.Count(t, e.db, `SELECT count(*) FROM outbox WHERE topic = $1 AND envelope->'payload'->>'order_id' = $2`,
		topic, orderID.String())
}

// initiated stores a new order's payment as a charge opens it, before it
// asks the provider anything.
func (e *env) initiated(t *testing.T) (paymentsapi.ChargeInput, *domain.Payment) {
	t.Helper()
	in := chargeInput(paymentsapi.TokenOK)
	p, err := domain.Initiate(uuid.New(), in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.payments.Save(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return in, p
}

// breakerState reads payments_provider_breaker_state from the registry.
func (e *env) breakerState(t *testing.T) float64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == provider.BreakerMetric {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s is not registered", provider.BreakerMetric)
	return 0
}

func TestChargeCaptures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	p, err := e.svc.Charge(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paymentsapi.StatusCaptured || p.OrderID != in.OrderID || p.CustomerID != in.CustomerID ||
		p.Amount != in.Amount || p.Currency != in.Currency || p.ID == uuid.Nil {
		t.Fatalf("payment %+v", p)
	}
	var types []string
	for _, ev := range p.Events {
		types = append(types, ev.Type)
	}
	if want := []string{domain.TypeInitiated, domain.TypeAuthorized, domain.TypeCaptured}; !reflect.DeepEqual(types, want) {
		t.Fatalf("history %v, want %v", types, want)
	}
	// The charge answers from the payment it holds: the same as reading it.
	if stored, err := e.svc.ForOrder(ctx, in.OrderID); err != nil || !reflect.DeepEqual(stored.Items, []paymentsapi.Payment{p}) {
		t.Fatalf("charge answered %+v\nstored %+v, %v", p, stored.Items, err)
	}
	if got := e.outbox(t, in.OrderID, paymentsapi.PaymentCaptured); got != 1 {
		t.Fatalf("%d payment_captured in the outbox", got)
	}
	var body paymentsapi.PaymentCapturedV1
	if err := e.db.Pool.QueryRow(ctx, `SELECT envelope->'payload' FROM outbox WHERE topic = $1`, paymentsapi.PaymentCaptured).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if body != (paymentsapi.PaymentCapturedV1{PaymentID: p.ID, OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount, Currency: in.Currency}) {
		t.Fatalf("payment_captured payload %+v", body)
	}
}

// A charge that goes through (initiated, authorized, captured) costs the
// round trips and commits below; more is a regression. The first charge
// warms the connection's statement cache, as a running process has.
func TestHappyChargeRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{countTrips: true})
	if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); err != nil {
		t.Fatal(err)
	}
	e.trips.Reset()
	if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); err != nil {
		t.Fatal(err)
	}
	const wantTrips, wantCommits = 2, 2
	trips, commits, log := e.trips.Count()
	t.Logf("%d round trips, %d commits", trips, commits)
	if trips > wantTrips || commits > wantCommits {
		t.Fatalf("a charge took %d round trips and %d commits, want at most %d and %d:\n%s",
			trips, commits, wantTrips, wantCommits, strings.Join(log, "\n"))
	}
}

// BenchmarkCharge charges orders that go through, one after the other, and
// reports the median time of a charge.
func BenchmarkCharge(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, options{})
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}

func TestChargeTwiceCapturesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	first, err := e.svc.Charge(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.Charge(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || second.Status != paymentsapi.StatusCaptured {
		t.Fatalf("second charge %+v, first %+v", second, first)
	}
	if n := e.events(t, in.OrderID, domain.TypeCaptured); n != 1 {
		t.Fatalf("%d captured events", n)
	}
	if n := e.fake.Captures(in.OrderID); n != 1 {
		t.Fatalf("the provider captured %d times", n)
	}
	if n := e.outbox(t, in.OrderID, paymentsapi.PaymentCaptured); n != 1 {
		t.Fatalf("%d payment_captured in the outbox", n)
	}
}

func TestConcurrentChargesCaptureOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	const callers = 10
	results := make([]paymentsapi.Payment, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { results[i], errs[i] = e.svc.Charge(ctx, in) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if results[i].Status != paymentsapi.StatusCaptured || results[i].ID != results[0].ID {
			t.Fatalf("caller %d: %+v", i, results[i])
		}
	}
	if n := testdb.Count(t, e.db, `SELECT count(*) FROM payment_orders WHERE order_id = $1`, in.OrderID); n != 1 {
		t.Fatalf("%d streams for one order", n)
	}
	if n := e.events(t, in.OrderID, domain.TypeCaptured); n != 1 {
		t.Fatalf("%d captured events", n)
	}
	if n := e.fake.Captures(in.OrderID); n != 1 {
		t.Fatalf("the provider captured %d times", n)
	}
	if n := e.outbox(t, in.OrderID, paymentsapi.PaymentCaptured); n != 1 {
		t.Fatalf("%d payment_captured in the outbox", n)
	}
}

func TestDeclinedCardFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	for _, token := range []string{paymentsapi.TokenDecline, "tok_unknown"} {
		in := chargeInput(token)
		if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrDeclined) {
			t.Fatalf("%s: got %v, want ErrDeclined", token, err)
		}
		list, err := e.svc.ForOrder(ctx, in.OrderID)
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("%s: ForOrder %+v, %v", token, list, err)
		}
		if p := list.Items[0]; p.Status != paymentsapi.StatusFailed || p.FailureReason == "" {
			t.Fatalf("%s: payment %+v", token, p)
		}
		if n := e.outbox(t, in.OrderID, paymentsapi.PaymentFailed); n != 1 {
			t.Fatalf("%s: %d payment_failed in the outbox", token, n)
		}
		// Charging again answers the same, without a second failure.
		if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrDeclined) {
			t.Fatalf("%s again: %v", token, err)
		}
		if n := e.events(t, in.OrderID, domain.TypeFailed); n != 1 {
			t.Fatalf("%s: %d failed events", token, n)
		}
	}
	if got := e.breakerState(t); got != 0 {
		t.Fatalf("declines moved the breaker to %v", got)
	}
}

// tok_slow outlasts the timeout: the charge gives up with a timeout, the
// saga cancels, the authorization is voided and nothing is ever captured.
func TestSlowProviderTimesOutThenCancelVoids(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const timeout = 200 * time.Millisecond
	e := newEnv(t, options{guard: provider.GuardConfig{Timeout: timeout}})
	in := chargeInput(paymentsapi.TokenSlow)

	start := time.Now()
	_, err := e.svc.Charge(ctx, in)
	elapsed := time.Since(start)
	t.Logf("the slow charge returned after %s: %v", elapsed, err)
	if !errors.Is(err, paymentsapi.ErrProviderTimeout) || apperr.KindOf(err) != apperr.KindTimeout {
		t.Fatalf("got %v, want ErrProviderTimeout", err)
	}
	if elapsed < timeout {
		t.Fatalf("gave up after %s, before the %s timeout", elapsed, timeout)
	}
	if pg, err := e.svc.ForOrder(ctx, in.OrderID); err != nil || len(pg.Items) != 0 {
		t.Fatalf("a payment awaiting its authorization is not shown: %+v, %v", pg, err)
	}

	if err := e.svc.Cancel(ctx, in.OrderID, "payment timed out"); err != nil {
		t.Fatal(err)
	}
	pg, err := e.svc.ForOrder(ctx, in.OrderID)
	if err != nil || len(pg.Items) != 1 {
		t.Fatalf("%+v, %v", pg, err)
	}
	if p := pg.Items[0]; p.Status != paymentsapi.StatusFailed || p.FailureReason != "voided: payment timed out" {
		t.Fatalf("after cancel: %+v", p)
	}

	in.Token = paymentsapi.TokenOK // even a card that works is refused now
	if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrCancelled) {
		t.Fatalf("charge after cancel: %v", err)
	}
	if n := e.events(t, in.OrderID, domain.TypeCaptured); n != 0 {
		t.Fatalf("%d captured events", n)
	}
	if n := e.fake.Captures(in.OrderID); n != 0 {
		t.Fatalf("the provider captured %d times", n)
	}
	if n := e.outbox(t, in.OrderID, paymentsapi.PaymentCaptured); n != 0 {
		t.Fatalf("%d payment_captured in the outbox", n)
	}
}

func TestRefundOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	if _, err := e.svc.Charge(ctx, in); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p, err := e.svc.Refund(ctx, in.OrderID, "order cancelled by the customer")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != paymentsapi.StatusRefunded {
			t.Fatalf("payment %+v", p)
		}
		if stored, err := e.svc.ForOrder(ctx, in.OrderID); err != nil || !reflect.DeepEqual(stored.Items, []paymentsapi.Payment{p}) {
			t.Fatalf("refund answered %+v\nstored %+v, %v", p, stored.Items, err)
		}
	}
	if n := e.events(t, in.OrderID, domain.TypeRefunded); n != 1 {
		t.Fatalf("%d refunded events", n)
	}
	if n := e.fake.Refunds(in.OrderID); n != 1 {
		t.Fatalf("the provider refunded %d times", n)
	}
	if n := e.outbox(t, in.OrderID, paymentsapi.PaymentRefunded); n != 1 {
		t.Fatalf("%d payment_refunded in the outbox", n)
	}
	// Cancelling a refunded order changes nothing; charging it is refused.
	if err := e.svc.Cancel(ctx, in.OrderID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrCancelled) {
		t.Fatalf("charge after refund: %v", err)
	}
	if n := e.events(t, in.OrderID, domain.TypeRefunded) + e.events(t, in.OrderID, domain.TypeCaptured); n != 2 {
		t.Fatalf("%d captured and refunded events, want one of each", n)
	}
}

func TestRefundNeedsACapture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	if _, err := e.svc.Refund(ctx, uuid.New(), ""); !errors.Is(err, paymentsapi.ErrPaymentNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	declined := chargeInput(paymentsapi.TokenDecline)
	_, _ = e.svc.Charge(ctx, declined)
	if _, err := e.svc.Refund(ctx, declined.OrderID, ""); !errors.Is(err, paymentsapi.ErrNotCaptured) {
		t.Fatalf("declined payment: %v", err)
	}
	cancelled := uuid.New()
	if err := e.svc.Cancel(ctx, cancelled, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refund(ctx, cancelled, ""); !errors.Is(err, paymentsapi.ErrPaymentNotFound) {
		t.Fatalf("order cancelled before a charge: %v", err)
	}
}

func TestCancelCapturedRefunds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	if _, err := e.svc.Charge(ctx, in); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.svc.Cancel(ctx, in.OrderID, "customer cancelled"); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := e.svc.ForOrder(ctx, in.OrderID)
	if err != nil || len(pg.Items) != 1 || pg.Items[0].Status != paymentsapi.StatusRefunded {
		t.Fatalf("%+v, %v", pg, err)
	}
	if n := e.outbox(t, in.OrderID, paymentsapi.PaymentRefunded); n != 1 {
		t.Fatalf("%d payment_refunded in the outbox", n)
	}
}

// Cancelling an order that has no payment yet records the cancellation, so
// a charge arriving late (a redelivered saga step) is refused.
func TestCancelBeforeChargeRefusesLaterCharge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	for range 2 {
		if err := e.svc.Cancel(ctx, in.OrderID, "out of stock"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrCancelled) {
		t.Fatalf("got %v, want ErrCancelled", err)
	}
	if pg, err := e.svc.ForOrder(ctx, in.OrderID); err != nil || len(pg.Items) != 0 {
		t.Fatalf("an order cancelled before a charge has no payment: %+v, %v", pg, err)
	}
	if n := e.fake.Captures(in.OrderID); n != 0 {
		t.Fatalf("the provider captured %d times", n)
	}
}

func TestChargeValidatesAndMatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	bad := chargeInput(paymentsapi.TokenOK)
	bad.Amount = -1
	if _, err := e.svc.Charge(ctx, bad); !errors.Is(err, paymentsapi.ErrInvalidCharge) {
		t.Fatalf("bad charge: %v", err)
	}
	in := chargeInput(paymentsapi.TokenOK)
	if _, err := e.svc.Charge(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Amount++
	if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrChargeMismatch) {
		t.Fatalf("other amount: %v", err)
	}
	if err := e.svc.Cancel(ctx, in.OrderID, string(make([]byte, 600))); !errors.Is(err, paymentsapi.ErrInvalidReason) {
		t.Fatalf("long reason: %v", err)
	}
}

// A process that stopped after the authorization was stored picks up from
// there: the next charge captures, once.
func TestChargeResumesAfterACrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	p, err := domain.Initiate(uuid.New(), in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Authorize(domain.Outcome{Ref: "auth_before_crash"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.payments.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Charge(ctx, in)
	if err != nil || got.Status != paymentsapi.StatusCaptured || got.ID != p.ID() {
		t.Fatalf("%+v, %v", got, err)
	}
	if n := e.fake.Captures(in.OrderID); n != 1 {
		t.Fatalf("the provider captured %d times", n)
	}
}

// A crash after the provider captured but before the capture was stored:
// cancelling finds the money taken, records the capture and refunds it.
func TestCancelRefundsAnUnrecordedCapture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	p, err := domain.Initiate(uuid.New(), in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Authorize(domain.Outcome{Ref: "auth_1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.payments.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.Capture(ctx, in.OrderID, p.Money()); err != nil { // the provider did; we never recorded it
		t.Fatal(err)
	}
	if err := e.svc.Cancel(ctx, in.OrderID, "saga compensates"); err != nil {
		t.Fatal(err)
	}
	pg, err := e.svc.ForOrder(ctx, in.OrderID)
	if err != nil || len(pg.Items) != 1 || pg.Items[0].Status != paymentsapi.StatusRefunded {
		t.Fatalf("%+v, %v", pg, err)
	}
	if e.fake.Captures(in.OrderID) != 1 || e.fake.Refunds(in.OrderID) != 1 {
		t.Fatalf("provider: %d captures, %d refunds", e.fake.Captures(in.OrderID), e.fake.Refunds(in.OrderID))
	}
}

// A charge records its authorization and capture in one commit, after both
// answers. A process that stopped in between leaves the payment initiated
// with the money captured: cancelling finds the capture, records it and
// refunds it; charging again completes it. Either way, once.
func TestCaptureLeftUnrecordedByAStoppedCharge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, next := range map[string]func(e *env, in paymentsapi.ChargeInput) (want string, err error){
		"then cancelled": func(e *env, in paymentsapi.ChargeInput) (string, error) {
			return paymentsapi.StatusRefunded, e.svc.Cancel(ctx, in.OrderID, "saga compensates")
		},
		"then charged again": func(e *env, in paymentsapi.ChargeInput) (string, error) {
			_, err := e.svc.Charge(ctx, in)
			return paymentsapi.StatusCaptured, err
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, options{})
			in, p := e.initiated(t)
			// The charge's provider calls, whose answers it never recorded.
			if _, err := e.fake.Authorize(ctx, in.OrderID, in.Token, p.Money()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.fake.Capture(ctx, in.OrderID, p.Money()); err != nil {
				t.Fatal(err)
			}
			want, err := next(e, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.svc.ForOrder(ctx, in.OrderID)
			if err != nil || len(got.Items) != 1 || got.Items[0].Status != want {
				t.Fatalf("%+v, %v; want %s", got, err, want)
			}
			refunds := 0
			if want == paymentsapi.StatusRefunded {
				refunds = 1
			}
			if e.fake.Captures(in.OrderID) != 1 || e.fake.Refunds(in.OrderID) != refunds {
				t.Fatalf("provider: %d captures, %d refunds", e.fake.Captures(in.OrderID), e.fake.Refunds(in.OrderID))
			}
			if e.outbox(t, in.OrderID, paymentsapi.PaymentCaptured) != 1 || e.outbox(t, in.OrderID, paymentsapi.PaymentRefunded) != refunds {
				t.Fatal("the outbox does not announce the capture once and its refund as often as it happened")
			}
		})
	}
}

// failingCapture fails the first capture, after the provider took the
// money when taken is set: its answer was lost.
type failingCapture struct {
	domain.Provider
	taken  bool
	failed atomic.Bool
}

func (f *failingCapture) Capture(ctx context.Context, key uuid.UUID, m domain.Money) (domain.Outcome, error) {
	if f.failed.Swap(true) {
		return f.Provider.Capture(ctx, key, m)
	}
	if f.taken {
		if _, err := f.Provider.Capture(ctx, key, m); err != nil {
			return domain.Outcome{}, err
		}
	}
	return domain.Outcome{}, errors.New("provider answered 502")
}

// A capture that fails records the authorization alone, which a cancel
// voids, or refunds if the provider did take the money.
func TestFailedCaptureLeavesTheChargeToCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, taken := range map[string]bool{"nothing taken": false, "answer lost": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, options{inner: func(f *provider.Fake) domain.Provider { return &failingCapture{Provider: f, taken: taken} }})
			in := chargeInput(paymentsapi.TokenOK)
			if _, err := e.svc.Charge(ctx, in); !errors.Is(err, paymentsapi.ErrProviderDown) {
				t.Fatalf("got %v, want ErrProviderDown", err)
			}
			if p, err := e.payments.ByOrder(ctx, in.OrderID); err != nil || p.Status() != domain.StatusAuthorized {
				t.Fatalf("after the failed capture: %v, %v", p.Status(), err)
			}
			if err := e.svc.Cancel(ctx, in.OrderID, "payment failed"); err != nil {
				t.Fatal(err)
			}
			want, refunds := paymentsapi.StatusFailed, 0
			if taken {
				want, refunds = paymentsapi.StatusRefunded, 1
			}
			got, err := e.svc.ForOrder(ctx, in.OrderID)
			if err != nil || len(got.Items) != 1 || got.Items[0].Status != want {
				t.Fatalf("%+v, %v; want %s", got, err, want)
			}
			if e.fake.Refunds(in.OrderID) != refunds {
				t.Fatalf("the provider refunded %d times, want %d", e.fake.Refunds(in.OrderID), refunds)
			}
		})
	}
}

// late answers an authorization or a capture up to a few milliseconds
// after making it, so a cancel can come between a charge's steps and their
// record.
type late struct{ domain.Provider }

func (l late) Authorize(ctx context.Context, key uuid.UUID, token string, m domain.Money) (domain.Outcome, error) {
	defer sleepUpTo(3 * time.Millisecond)
	return l.Provider.Authorize(ctx, key, token, m)
}

func (l late) Capture(ctx context.Context, key uuid.UUID, m domain.Money) (domain.Outcome, error) {
	defer sleepUpTo(3 * time.Millisecond)
	return l.Provider.Capture(ctx, key, m)
}

func sleepUpTo(d time.Duration) { time.Sleep(rand.N(d)) }

// A cancel racing a charge, at any point of it, leaves no money taken:
// what was captured is refunded, once, and every capture and refund the
// provider made is recorded and announced once.
func TestCancelRacingAChargeKeepsNoMoney(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{inner: func(f *provider.Fake) domain.Provider { return late{f} }})
	start := time.Now()
	if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); err != nil {
		t.Fatal(err)
	}
	charge := time.Since(start) // so the cancels fall anywhere in a charge, or after it
	for range 60 {
		in := chargeInput(paymentsapi.TokenOK)
		var charged sync.WaitGroup
		charged.Go(func() { _, _ = e.svc.Charge(ctx, in) })
		sleepUpTo(charge * 5 / 4)
		for err := e.svc.Cancel(ctx, in.OrderID, "saga compensates"); err != nil; err = e.svc.Cancel(ctx, in.OrderID, "again") {
			t.Logf("cancel %s: %v; the saga tries again", in.OrderID, err)
		}
		charged.Wait()
		captures, refunds := e.fake.Captures(in.OrderID), e.fake.Refunds(in.OrderID)
		if captures != refunds {
			t.Errorf("order %s: the provider captured %d times and refunded %d times", in.OrderID, captures, refunds)
		}
		if e.events(t, in.OrderID, domain.TypeCaptured) != captures || e.events(t, in.OrderID, domain.TypeRefunded) != refunds ||
			e.outbox(t, in.OrderID, paymentsapi.PaymentCaptured) != captures || e.outbox(t, in.OrderID, paymentsapi.PaymentRefunded) != refunds {
			t.Errorf("order %s: %d captures and %d refunds are not each recorded and announced once", in.OrderID, captures, refunds)
		}
	}
}

// Two decisions taken on the same version: the second save is refused.
func TestSaveDetectsAConcurrentChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in, _ := e.initiated(t)
	a, err := e.payments.ByOrder(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.payments.ByOrder(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(domain.Outcome{Ref: "a"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Void("cancelled", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.payments.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := e.payments.Save(ctx, b); !errors.Is(err, app.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	// A second stream for the same order is refused too.
	other, _ := domain.Initiate(uuid.New(), in, time.Now())
	if err := e.payments.Save(ctx, other); !errors.Is(err, app.ErrConflict) {
		t.Fatalf("second stream: got %v, want ErrConflict", err)
	}
}

// Payments written by an earlier version of the code, with payment.authorized
// at schema version 1, load through the upcaster and carry on.
func TestAuthorizedV1EventsAreUpcast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{})
	in := chargeInput(paymentsapi.TokenOK)
	stream := uuid.New()
	initiated, _ := json.Marshal(domain.Initiated{PaymentID: stream, OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount, Currency: in.Currency})
	at := time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO payment_orders (order_id, payment_id, customer_id) VALUES ($1, $2, $3)`, []any{in.OrderID, stream, in.CustomerID}},
		{`INSERT INTO events (stream_id, version, type, schema_version, data, occurred_at) VALUES ($1, 1, 'payment.initiated', 1, $2, $3)`,
			[]any{stream, initiated, at}},
		{`INSERT INTO events (stream_id, version, type, schema_version, data, occurred_at) VALUES ($1, 2, 'payment.authorized', 1, '{"auth_code":"AUTH-V1"}', $2)`,
			[]any{stream, at.Add(time.Second)}},
	} {
		if _, err := e.db.Pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}

	p, err := e.payments.ByOrder(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if s := p.State(); s.Status != "authorized" || s.ProviderRef != "AUTH-V1" || s.Method != domain.MethodCard {
		t.Fatalf("state %+v", s)
	}
	pg, err := e.svc.ForOrder(ctx, in.OrderID)
	if err != nil || len(pg.Items) != 1 {
		t.Fatalf("%+v, %v", pg, err)
	}
	auth := pg.Items[0].Events[1]
	var fields map[string]string
	if err := json.Unmarshal(auth.Data, &fields); err != nil {
		t.Fatal(err)
	}
	if auth.Type != domain.TypeAuthorized || auth.Version != 2 || fields["provider_ref"] != "AUTH-V1" || fields["method"] != "card" {
		t.Fatalf("history shows %+v %s", auth, auth.Data)
	}
	// The old stream carries on with today's code.
	if got, err := e.svc.Charge(ctx, in); err != nil || got.Status != paymentsapi.StatusCaptured {
		t.Fatalf("%+v, %v", got, err)
	}
	if n := testdb.Count(t, e.db, `SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'payment.authorized' AND schema_version = 1`, stream); n != 1 {
		t.Fatal("the stored v1 event was rewritten")
	}
}

// With snapshots every 3 events, a refunded payment (4 events) loads from
// the snapshot at 3 plus one event, and equals the full replay.
func TestSnapshotPlusTailEqualsFullReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{snapshotEvery: 3})
	in := chargeInput(paymentsapi.TokenOK)
	if _, err := e.svc.Charge(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refund(ctx, in.OrderID, ""); err != nil {
		t.Fatal(err)
	}
	id, err := e.payments.StreamOf(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.payments.Store().Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Snapshot == nil || st.Snapshot.Version != 3 || len(st.Events) != 1 {
		t.Fatalf("want the snapshot at 3 and one event after it, got %+v", st)
	}
	fromSnapshot, err := e.payments.ByOrder(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	replayed, _, err := e.payments.History(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromSnapshot.State(), replayed.State()) || replayed.State().Status != "refunded" {
		t.Fatalf("snapshot + tail %+v\nfull replay     %+v", fromSnapshot.State(), replayed.State())
	}

	// A snapshot of a schema this code does not know is ignored.
	if _, err := e.db.Pool.Exec(ctx, `UPDATE snapshots SET schema_version = 99, state = '{"shape":"from the future"}'`); err != nil {
		t.Fatal(err)
	}
	again, err := e.payments.ByOrder(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.State(), replayed.State()) {
		t.Fatalf("with an unknown snapshot %+v\nfull replay %+v", again.State(), replayed.State())
	}
}

func TestAsOfReturnsThePastState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { // each reading is one minute later
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Minute)
		return now
	}
	e := newEnv(t, options{clock: clock, snapshotEvery: 2})
	in := chargeInput(paymentsapi.TokenOK)
	p, err := e.svc.Charge(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refund(ctx, in.OrderID, ""); err != nil { // snapshot at 4, newer than the times below
		t.Fatal(err)
	}
	initiated, authorized, captured := p.Events[0].OccurredAt, p.Events[1].OccurredAt, p.Events[2].OccurredAt
	for name, tc := range map[string]struct {
		at   time.Time
		want string // status; "" for no payment yet
	}{
		"before it began":          {initiated.Add(-time.Second), ""},
		"when initiated":           {initiated, "initiated"},
		"between auth and capture": {authorized.Add(30 * time.Second), "authorized"},
		"after the capture":        {captured.Add(30 * time.Second), "captured"},
		"now":                      {clock(), "refunded"},
	} {
		got, err := e.payments.AsOf(ctx, in.OrderID, tc.at)
		switch {
		case tc.want == "" && errors.Is(err, app.ErrNotFound):
		case err != nil:
			t.Fatalf("%s: %v", name, err)
		case got.State().Status != tc.want:
			t.Fatalf("%s: %s, want %s", name, got.State().Status, tc.want)
		}
	}
}

// Every internal event type has an integration mapping (possibly none).
func TestEveryEventHasAnAnnouncementRule(t *testing.T) {
	t.Parallel()
	p, err := domain.Initiate(uuid.New(), chargeInput(paymentsapi.TokenOK), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	announced := map[string]bool{}
	for _, ev := range domain.Events() {
		out, err := app.Announcement(p, ev)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil {
			announced[out.EventType()] = true
		}
	}
	for _, topic := range []string{paymentsapi.PaymentCaptured, paymentsapi.PaymentFailed, paymentsapi.PaymentRefunded} {
		if !announced[topic] {
			t.Errorf("no internal event announces %s", topic)
		}
	}
}

// flaky fails every call while failing is set, else passes to the fake.
type flaky struct {
	domain.Provider
	failing atomic.Bool
	calls   atomic.Int32
}

func (f *flaky) Authorize(ctx context.Context, key uuid.UUID, token string, m domain.Money) (domain.Outcome, error) {
	f.calls.Add(1)
	if f.failing.Load() {
		return domain.Outcome{}, errors.New("provider answered 502")
	}
	return f.Provider.Authorize(ctx, key, token, m)
}

func TestBreakerOpensAfterFailuresAndFailsFast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bad := &flaky{}
	bad.failing.Store(true)
	e := newEnv(t, options{
		guard: provider.GuardConfig{MinRequests: 3, OpenFor: 300 * time.Millisecond},
		inner: func(f *provider.Fake) domain.Provider { bad.Provider = f; return bad },
	})
	if got := e.breakerState(t); got != 0 {
		t.Fatalf("breaker starts at %v", got)
	}
	for i := range 3 {
		_, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK))
		if !errors.Is(err, paymentsapi.ErrProviderDown) {
			t.Fatalf("charge %d: %v", i, err)
		}
	}
	if got := e.breakerState(t); got != 2 {
		t.Fatalf("after 3 failures the breaker is %v, want 2 (open)", got)
	}
	_, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK))
	if !errors.Is(err, paymentsapi.ErrProviderDown) || bad.calls.Load() != 3 {
		t.Fatalf("open breaker: %v after %d provider calls, want ErrProviderDown without a call", err, bad.calls.Load())
	}

	// Once the provider is back and the open period is over, one trial call
	// closes the breaker.
	bad.failing.Store(false)
	time.Sleep(350 * time.Millisecond)
	if got := e.breakerState(t); got != 1 {
		t.Fatalf("after the open period the breaker is %v, want 1 (half-open)", got)
	}
	if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); err != nil {
		t.Fatal(err)
	}
	if got := e.breakerState(t); got != 0 {
		t.Fatalf("after a success the breaker is %v, want 0 (closed)", got)
	}
}

// A caller that gives up (cancels) says nothing about the provider: it does
// not count towards opening the breaker. (A caller's deadline does count: the
// saga's charge deadline is the payment timeout itself.)
func TestCallerCancellationDoesNotTripTheBreaker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{guard: provider.GuardConfig{MinRequests: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenSlow)) // slow: 10s, the caller leaves at 300ms
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the caller's cancellation", err)
	}
	if got := e.breakerState(t); got != 0 {
		t.Fatalf("breaker %v, want 0 (closed)", got)
	}
}

// A customer's own input must not open the breaker for everyone: tok_slow
// charges time out and tok_decline charges are declined, many in a row, yet
// the breaker stays closed and the next good charge goes through.
func TestInputCausedFailuresDoNotTripTheBreaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{guard: provider.GuardConfig{Timeout: 50 * time.Millisecond}})
	for i := range 12 {
		token := paymentsapi.TokenSlow
		if i >= 8 {
			token = paymentsapi.TokenDecline
		}
		_, err := e.svc.Charge(ctx, chargeInput(token))
		if errors.Is(err, paymentsapi.ErrProviderDown) {
			t.Fatalf("charge %d (%s): the breaker opened: %v", i, token, err)
		}
	}
	if got := e.breakerState(t); got != 0 {
		t.Fatalf("after slow and declined charges the breaker is %v, want 0 (closed)", got)
	}
	if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); err != nil {
		t.Fatalf("a good charge after them: %v", err)
	}
}

// hung stands for a provider that stopped answering: every call, Ping
// included, waits until its context ends.
type hung struct{ domain.Provider }

func (hung) Authorize(ctx context.Context, _ uuid.UUID, _ string, _ domain.Money) (domain.Outcome, error) {
	<-ctx.Done()
	return domain.Outcome{}, ctx.Err()
}

func (hung) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Timeouts of a provider that answers nothing, Ping included, are its own
// failures: they open the breaker once enough calls were counted.
func TestHungProviderOpensTheBreaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, options{
		guard: provider.GuardConfig{Timeout: 50 * time.Millisecond, MinRequests: 4, FailureRatio: 0.5},
		inner: func(f *provider.Fake) domain.Provider { return hung{f} },
	})
	for i := range 4 {
		if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); !errors.Is(err, paymentsapi.ErrProviderTimeout) {
			t.Fatalf("charge %d: %v, want a timeout", i, err)
		}
		if got := e.breakerState(t); (i < 3) != (got == 0) {
			t.Fatalf("after %d timeouts the breaker is %v", i+1, got)
		}
	}
	if got := e.breakerState(t); got != 2 {
		t.Fatalf("breaker %v, want 2 (open)", got)
	}
	if _, err := e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK)); !errors.Is(err, paymentsapi.ErrProviderDown) {
		t.Fatalf("open breaker: %v, want ErrProviderDown", err)
	}
}

// The breaker trips on a ratio, not a streak: occasional provider errors
// among good calls leave it closed, a majority of errors opens it.
func TestBreakerTripsOnAFailureRatio(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bad := &flaky{}
	e := newEnv(t, options{
		guard: provider.GuardConfig{MinRequests: 6, FailureRatio: 0.5},
		inner: func(f *provider.Fake) domain.Provider { bad.Provider = f; return bad },
	})
	// A good charge makes two calls (authorize, capture), a failing one one.
	for i := range 8 { // 2 errors in 14 calls
		bad.failing.Store(i%4 == 0)
		_, _ = e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK))
	}
	if got := e.breakerState(t); got != 0 {
		t.Fatalf("after 2 errors in 14 calls the breaker is %v, want 0 (closed)", got)
	}
	bad.failing.Store(true)
	for range 12 { // now 14 errors in 26 calls: over half
		_, _ = e.svc.Charge(ctx, chargeInput(paymentsapi.TokenOK))
	}
	if got := e.breakerState(t); got != 2 {
		t.Fatalf("after most calls failed the breaker is %v, want 2 (open)", got)
	}
}
