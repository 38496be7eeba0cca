package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	orderingmigrations "github.com/modmono/shop/migrations/ordering"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/internal/app"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// The runner is tested against real Postgres with small fakes of the other
// modules' Go interfaces, which record the calls in order.

type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(s string) { c.mu.Lock(); c.log = append(c.log, s); c.mu.Unlock() }
func (c *calls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.log, " ")
}

type fakeInventory struct {
	inventoryapi.API
	calls      *calls
	reserveErr error
	failFirst  int // Commit fails this many times first (a dependency down)
}

func (f *fakeInventory) Reserve(context.Context, uuid.UUID, []inventoryapi.Line) error {
	f.calls.add("reserve")
	return f.reserveErr
}
func (f *fakeInventory) Release(context.Context, uuid.UUID) error { f.calls.add("release"); return nil }
func (f *fakeInventory) Commit(context.Context, uuid.UUID) error {
	f.calls.add("commit")
	if f.failFirst > 0 {
		f.failFirst--
		return errors.New("inventory is down")
	}
	return nil
}
func (f *fakeInventory) Restock(context.Context, uuid.UUID) error { f.calls.add("restock"); return nil }

type fakePayments struct {
	paymentsapi.API
	calls     *calls
	chargeErr error
	slow      bool
	downFirst int // the first charges answer ErrProviderDown
}

func (f *fakePayments) Charge(ctx context.Context, in paymentsapi.ChargeInput) (paymentsapi.Payment, error) {
	f.calls.add("charge")
	if f.slow {
		<-ctx.Done()
		return paymentsapi.Payment{}, ctx.Err()
	}
	if f.downFirst > 0 {
		f.downFirst--
		return paymentsapi.Payment{}, paymentsapi.ErrProviderDown
	}
	if f.chargeErr != nil {
		return paymentsapi.Payment{}, f.chargeErr
	}
	return paymentsapi.Payment{OrderID: in.OrderID, Status: paymentsapi.StatusCaptured}, nil
}
func (f *fakePayments) Cancel(context.Context, uuid.UUID, string) error {
	f.calls.add("cancel_payment")
	return nil
}
func (f *fakePayments) Refund(context.Context, uuid.UUID, string) (paymentsapi.Payment, error) {
	f.calls.add("refund")
	return paymentsapi.Payment{}, nil
}

type fakeCatalog struct{ catalogapi.API }

var tea = catalogapi.Product{ID: uuid.New(), Name: "Tea", Price: 450, Currency: "EUR"}

func (fakeCatalog) GetProduct(_ context.Context, id uuid.UUID) (catalogapi.Product, error) {
	if id != tea.ID {
		return catalogapi.Product{}, catalogapi.ErrProductNotFound
	}
	return tea, nil
}

type world struct {
	svc    *app.Service
	runner *app.Runner
	calls  *calls
	db     *pgxdb.DB
	loads  *atomic.Int64 // orders the runner loaded
}

// loadCounting counts the orders loaded through it.
type loadCounting struct {
	app.Orders
	loads *atomic.Int64
}

func (l loadCounting) Get(ctx context.Context, id uuid.UUID) (*domain.Order, error) {
	l.loads.Add(1)
	return l.Orders.Get(ctx, id)
}

func newWorld(t *testing.T, inv inventoryapi.API, pay paymentsapi.API, c *calls) world {
	t.Helper()
	return newWorldWith(t, inv, pay, c, 200*time.Millisecond, app.LeaseFor(200*time.Millisecond))
}

// newWorldWith is a world whose charge step times out after paymentTimeout
// and whose sagas are leased for lease.
func newWorldWith(t *testing.T, inv inventoryapi.API, pay paymentsapi.API, c *calls, paymentTimeout, lease time.Duration) world {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), pgtest.NewDatabase(t)+"&pool_max_conns=4", "ordering",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: orderingmigrations.FS}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	orders := pg.NewOrders(db, lease)
	sagas := pg.NewSagas(orders)
	loads := &atomic.Int64{}
	runner := app.NewRunner(app.RunnerConfig{PaymentTimeout: paymentTimeout, Lease: lease, Poll: 20 * time.Millisecond},
		sagas, loadCounting{orders, loads}, inv, pay, zaptest.NewLogger(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return world{svc: app.New(orders, sagas, pg.NewViews(db), fakeCatalog{}, runner), runner: runner, calls: c, db: db, loads: loads}
}

func (w world) place(t *testing.T) orderingapi.Order {
	t.Helper()
	return w.settle(t, w.placePending(t), orderingapi.StatusPending)
}

// placePending places an order and returns at once.
func (w world) placePending(t *testing.T) uuid.UUID {
	t.Helper()
	placed, err := w.svc.PlaceOrder(context.Background(), uuid.New(), uuid.NewString(), orderingapi.PlaceOrderInput{
		Items: []orderingapi.LineInput{{ProductID: tea.ID, Quantity: 2}}, Payment: orderingapi.PaymentInput{Token: "tok_ok"}})
	if err != nil {
		t.Fatal(err)
	}
	return placed.ID
}

// settle waits until the order's status is no longer from.
func (w world) settle(t *testing.T, id uuid.UUID, from string) orderingapi.Order {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, err := w.svc.GetOrder(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != from {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order still %s after 30 s; calls: %s", from, w.calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSagaRunsAndCompensatesInReverse(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		inv    fakeInventory
		pay    fakePayments
		status string
		calls  string
		reason string
	}{
		"confirmed":                 {status: "confirmed", calls: "reserve charge commit"},
		"out of stock":              {inv: fakeInventory{reserveErr: inventoryapi.ErrInsufficientStock}, status: "cancelled", calls: "reserve release", reason: "insufficient stock"},
		"declined":                  {pay: fakePayments{chargeErr: paymentsapi.ErrDeclined}, status: "cancelled", calls: "reserve charge cancel_payment release", reason: "payment declined"},
		"payment too slow":          {pay: fakePayments{slow: true}, status: "cancelled", calls: "reserve charge cancel_payment release", reason: "payment timed out"},
		"payment refused":           {pay: fakePayments{chargeErr: paymentsapi.ErrChargeMismatch}, status: "cancelled", calls: "reserve charge cancel_payment release", reason: "payment failed"},
		"provider down for a while": {pay: fakePayments{downFirst: 2}, status: "confirmed", calls: "reserve charge charge charge commit"},
		"commit retried":            {inv: fakeInventory{failFirst: 2}, status: "confirmed", calls: "reserve charge commit commit commit"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &calls{}
			tc.inv.calls, tc.pay.calls = c, c
			w := newWorld(t, &tc.inv, &tc.pay, c)
			o := w.place(t)
			if o.Status != tc.status || c.String() != tc.calls {
				t.Fatalf("status %s after %q; want %s after %q", o.Status, c, tc.status, tc.calls)
			}
			if tc.reason != "" && (o.FailureReason == nil || !strings.Contains(*o.FailureReason, tc.reason)) {
				t.Fatalf("reason %v, want %q", o.FailureReason, tc.reason)
			}
		})
	}
}

// A saga handed to the runner as its order is placed starts with the order
// in hand: its worker does not load it, and what it holds is what was
// stored (the confirmation, fenced by the order's revision, goes through).
func TestASagaBornClaimedStartsWithItsOrderInHand(t *testing.T) {
	t.Parallel()
	c := &calls{}
	w := newWorld(t, &fakeInventory{calls: c}, &fakePayments{calls: c}, c)
	w.place(t) // the runner runs by the time this one is settled
	before := w.loads.Load()
	o := w.place(t)
	if o.Status != orderingapi.StatusConfirmed || w.loads.Load() != before {
		t.Fatalf("order %s after the runner loaded %d orders for it; want confirmed after none", o.Status, w.loads.Load()-before)
	}
}

func TestCancellingAConfirmedOrderRefundsAndRestocks(t *testing.T) {
	t.Parallel()
	c := &calls{}
	w := newWorld(t, &fakeInventory{calls: c}, &fakePayments{calls: c}, c)
	o := w.place(t)
	if o.Status != orderingapi.StatusConfirmed {
		t.Fatalf("%+v", o)
	}
	stranger := auth.Principal{UserID: uuid.New(), Role: auth.Customer}
	if _, err := w.svc.CancelOrder(context.Background(), o.ID, stranger); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("another customer's cancellation: %v, want auth.ErrForbidden", err)
	}
	if _, err := w.svc.CancelOrder(context.Background(), o.ID, auth.Principal{UserID: o.CustomerID, Role: auth.Customer}); err != nil {
		t.Fatal(err)
	}
	o = w.settle(t, o.ID, orderingapi.StatusConfirmed)
	if o.Status != orderingapi.StatusCancelled || c.String() != "reserve charge commit refund restock" {
		t.Fatalf("%s after %q", o.Status, c)
	}
	timeline, err := w.svc.Timeline(context.Background(), o.ID)
	if err != nil || len(timeline) < 6 {
		t.Fatalf("timeline %v %v", timeline, err)
	}
}

// A step retried again and again (a compensation retries forever) adds one
// timeline entry whose count goes up, not a row per attempt: saga_log stays
// bounded however long a dependency is down.
func TestRepeatedRetriesAreOneTimelineEntry(t *testing.T) {
	t.Parallel()
	c := &calls{}
	w := newWorld(t, &fakeInventory{calls: c, failFirst: 4}, &fakePayments{calls: c}, c)
	o := w.place(t)
	if o.Status != orderingapi.StatusConfirmed {
		t.Fatalf("%s after %q", o.Status, c)
	}
	timeline, err := w.svc.Timeline(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var retries []app.TimelineEntry
	for _, e := range timeline {
		if e.Outcome == "retry" {
			retries = append(retries, e)
		}
	}
	if len(retries) != 1 {
		t.Fatalf("%d retry entries, want 1 for 4 failed attempts of commit: %+v", len(retries), timeline)
	}
	if r := retries[0]; r.Repeats != 4 || r.LastAt == nil || !r.LastAt.After(r.At) || r.Detail != "inventory is down" {
		t.Fatalf("retry entry %+v, want 4 repeats from at to a later last_at", r)
	}
	for _, e := range timeline {
		if e.Outcome != "retry" && (e.Repeats != 1 || e.LastAt != nil) {
			t.Fatalf("entry %+v: want 1 repeat and no last_at", e)
		}
	}
}

// A worker stores the steps it ran in a row once, with the saga's end, but
// the timeline still tells each step at the time it happened.
func TestATimelineStoredAtTheEndKeepsEachStepsTime(t *testing.T) {
	t.Parallel()
	c := &calls{}
	w := newWorld(t, &fakeInventory{calls: c}, &fakePayments{calls: c}, c)
	o := w.place(t)
	timeline, err := w.svc.Timeline(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for i, e := range timeline {
		steps = append(steps, e.Step)
		// Stamped when stored, every entry would come after the order's
		// confirmation, which is stored last.
		if (i > 0 && e.At.Before(timeline[i-1].At)) || e.At.After(o.UpdatedAt) {
			t.Fatalf("entry %d at %s (order confirmed at %s): %+v", i, e.At, o.UpdatedAt, timeline)
		}
	}
	if got := strings.Join(steps, " "); got != "reserve charge confirm" {
		t.Fatalf("timeline %+v; want reserve, charge, confirm", timeline)
	}
}
