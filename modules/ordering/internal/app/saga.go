package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/telemetry"
)

// RunnerConfig tunes the saga runner. Zero values take the defaults.
type RunnerConfig struct {
	PaymentTimeout time.Duration // the charge step's timeout; APP_PAYMENT_TIMEOUT
	StepTimeout    time.Duration // every other step; default 10s
	// Lease is the lease period of the saga store (LeaseFor(PaymentTimeout)
	// by default): while a step runs, the worker renews its lease every
	// third of it.
	Lease       time.Duration
	Concurrency int           // sagas advanced at once; default 32
	Poll        time.Duration // how often due retries are looked for; default 250ms
}

// Runner advances checkout sagas: the orchestrating process manager. Every
// instance of ordering runs one; they share the work through leases, and any
// of them resumes a saga whose worker died.
type Runner struct {
	cfg       RunnerConfig
	sagas     Sagas
	orders    Orders
	inventory inventoryapi.API
	payments  paymentsapi.API
	log       *zap.Logger
	now       func() time.Time
	finished  func(outcome domain.Outcome, placed time.Time) // counts and times finished sagas

	wake    chan struct{}
	slots   chan struct{}
	running sync.WaitGroup

	mu        sync.Mutex
	accepting bool        // Run is running: a saga may be handed over (Hold)
	backlog   atomic.Bool // sagas may wait for a slot: a freed one should look for them
}

// NewRunner returns a runner; finished, when set, is told each finished
// saga's outcome and when its order was placed.
func NewRunner(cfg RunnerConfig, sagas Sagas, orders Orders, inventory inventoryapi.API, payments paymentsapi.API, log *zap.Logger,
	finished func(domain.Outcome, time.Time)) *Runner {
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = 10 * time.Second
	}
	if cfg.Lease == 0 {
		cfg.Lease = LeaseFor(cfg.PaymentTimeout)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 32
	}
	if cfg.Poll == 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if finished == nil {
		finished = func(domain.Outcome, time.Time) {}
	}
	return &Runner{cfg: cfg, sagas: sagas, orders: orders, inventory: inventory, payments: payments, log: log, now: time.Now,
		finished: finished, wake: make(chan struct{}, 1), slots: make(chan struct{}, cfg.Concurrency)}
}

// LeaseFor is how long a claimed saga stays its worker's without a word
// from it: enough for its slowest step, though the worker renews it while a
// step runs, so the lease is only how soon a dead worker's sagas resume.
func LeaseFor(paymentTimeout time.Duration) time.Duration { return 2*paymentTimeout + 10*time.Second }

// Kick makes the runner look for work now (a saga was created or changed).
func (r *Runner) Kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Hold takes a slot for a saga about to be born claimed by this process
// (see Orders.Place), to be run by Start, or given back by Unhold if the
// saga is not stored. It reports false, taking nothing, when every slot is
// busy or the runner is not running: the saga is then born unclaimed, and
// a runner claims it when it can.
//
// A saga handed over this way starts at once, saving the claim's commit
// and the wait for the runner's next look: a checkout's first step follows
// its order's commit.
func (r *Runner) Hold() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.accepting {
		return false
	}
	select {
	case r.slots <- struct{}{}:
		r.running.Add(1)
		return true
	default:
		r.backlog.Store(true)
		return false
	}
}

// Start advances c in the slot Hold took.
func (r *Runner) Start(c Claimed) {
	go func() {
		defer r.free()
		r.advance(c)
	}()
}

// Unhold gives back the slot Hold took.
func (r *Runner) Unhold() { r.free() }

func (r *Runner) free() {
	<-r.slots
	r.running.Done()
	if r.backlog.Load() {
		r.Kick() // the free slot may take a waiting saga
	}
}

// Run advances sagas until ctx ends, then waits for the ones in progress.
func (r *Runner) Run(ctx context.Context) {
	r.setAccepting(true)
	defer func() {
		r.setAccepting(false)
		r.running.Wait()
	}()
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	for ctx.Err() == nil {
		if free := cap(r.slots) - len(r.slots); free > 0 {
			r.backlog.Store(false) // until this claim, or a Hold, finds more than fits
			claimed, err := r.sagas.Claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("cannot claim sagas", zap.Error(err))
			}
			for _, c := range claimed {
				r.slots <- struct{}{} // waits if Hold took the slot meanwhile
				r.running.Add(1)
				r.Start(c)
			}
			if len(claimed) == free {
				r.backlog.Store(true)
				continue // there may be more
			}
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-tick.C:
		}
	}
}

func (r *Runner) setAccepting(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepting = on
}

// advance runs c's steps until its saga ends, must wait for a retry, or was
// taken over. It does not stop at shutdown mid-step: steps are short and
// bounded by their timeouts, and finishing one saves a retry.
//
// Each step runs in a span "saga <step>" whose parent is the request that
// started the saga (its stored traceparent), however late and in whichever
// process the step runs: one checkout is one trace.
func (r *Runner) advance(c Claimed) {
	parent := telemetry.WithTraceparent(context.Background(), c.Saga.Traceparent())
	w := &work{lease: c.Lease, saga: c.Saga, order: c.Order}
	for !w.saga.Done() && r.step(parent, w) {
	}
}

// work is what a worker holds of a claimed saga: its lease, the saga as
// it advances (its entries since the claim not stored yet), and its order,
// handed over with a saga born claimed or loaded once at the first step.
// While the lease holds, only this worker changes either (every other write
// is fenced out), so the copies stay true and no step reads them again. The worker stores the saga when it stops
// with it, and when it turns to compensate.
type work struct {
	lease Lease
	saga  *domain.Saga
	order *domain.Order
}

// step runs w's current step, holding the lease while it runs. It reports
// whether the saga goes on at once with its next step.
func (r *Runner) step(parent context.Context, w *work) (goOn bool) {
	sg := w.saga
	ctx, span := sagaTracer.Start(parent, "saga "+string(sg.Step()),
		trace.WithAttributes(telemetry.Module(orderingapi.Name), attribute.String("order_id", sg.OrderID().String()),
			attribute.String("saga.step", string(sg.Step())), attribute.Int("saga.attempt", sg.Attempts()+1)))
	var failed error
	defer func() { telemetry.End(span, failed) }()
	log := telemetry.Logger(ctx, r.log).With(zap.String("order_id", sg.OrderID().String()))
	ctx, release := r.hold(ctx, w.lease, log)
	defer release()

	step := sg.Step()
	outcome, err := r.stepOnce(ctx, w)
	switch {
	case err == nil && outcome != "":
		span.SetAttributes(attribute.String("saga.outcome", string(outcome)))
		r.finished(outcome, w.order.CreatedAt())
		log.Info("saga finished", zap.String("outcome", string(outcome)), zap.String("reason", w.saga.Reason()))
		return false
	case err == nil:
		if w.saga.Compensating() {
			span.SetAttributes(attribute.String("saga.compensating_because", w.saga.Reason()))
		}
		return true
	case errors.Is(err, ErrLeaseLost) || errors.Is(context.Cause(ctx), ErrLeaseLost):
		failed = ErrLeaseLost
		log.Warn("saga taken over by a newer claim; its worker's outcomes are dropped", zap.String("step", string(step)))
		return false
	default:
		failed = err
		r.retry(ctx, log, w, err)
		return false
	}
}

// stepOnce runs w's step and applies its outcome to w's saga, loading the
// order first unless the worker holds it. At a terminal step it returns the
// saga's outcome.
//
// The saga is stored (Record) only where the worker stops — at its end, or
// at a retry (see retry) — and where it turns to compensate (see
// compensate). Steps that succeed one after the other are stored with that,
// in one transaction, rather than one each: if the worker dies in between,
// the saga is claimed again where it was stored, and its steps, all
// idempotent, run again. The stored step of a running saga is the one its
// worker last stored.
func (r *Runner) stepOnce(ctx context.Context, w *work) (domain.Outcome, error) {
	if w.order == nil {
		o, err := r.order(ctx, w.saga)
		if err != nil {
			return "", err
		}
		w.order = o
	}
	reason, err := r.run(ctx, w.saga, w.order.Snapshot())
	if err != nil {
		return "", err
	}
	now := r.now()
	switch {
	case reason != "":
		return "", r.compensate(ctx, w, reason, now)
	case !w.saga.Step().Terminal():
		return "", w.saga.Succeed(now)
	}
	// The end is made on copies, kept once stored: if storing fails, the
	// step is retried from the saga as it was.
	sg, o := w.saga.Clone(), domain.Rehydrate(w.order.Snapshot(), w.order.Revision())
	outcome, err := sg.Finish(o, now)
	if err == nil {
		err = r.sagas.Record(ctx, w.lease, sg, o)
	}
	if err != nil {
		return "", err
	}
	w.saga, w.order = sg, o
	return outcome, nil
}

// compensate turns w's saga to compensating for reason, and stores it at
// once: its steps will undo forward steps, and a worker that died during
// them must not leave the saga where a new claim would run those forward
// steps again, to meet their undoing (a reservation released, a payment
// voided).
func (r *Runner) compensate(ctx context.Context, w *work, reason string, now time.Time) error {
	sg := w.saga.Clone()
	if err := sg.Fail(reason, now); err != nil {
		return err
	}
	if err := r.sagas.Record(ctx, w.lease, sg, nil); err != nil {
		return err
	}
	w.saga = domain.RehydrateSaga(sg.Record()) // as stored: no entries left to store
	return nil
}

// hold renews lease every third of its period while a step runs. When a
// renewal finds the lease gone (the saga was claimed again), or the lease
// may have run out because renewals failed, it cancels the returned
// context with ErrLeaseLost: the step stops, and its outcome is dropped.
// release stops the renewals.
func (r *Runner) hold(ctx context.Context, lease Lease, log *zap.Logger) (_ context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		every := r.cfg.Lease / 3
		expires := time.Now().Add(r.cfg.Lease) // not later than the stored lease: it started before this
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			renewed := time.Now()
			rctx, rcancel := context.WithTimeout(ctx, every)
			err := r.sagas.Renew(rctx, lease)
			rcancel()
			switch {
			case err == nil:
				expires = renewed.Add(r.cfg.Lease)
			case errors.Is(err, ErrLeaseLost):
				cancel(ErrLeaseLost)
				return
			case time.Now().After(expires):
				log.Warn("cannot renew the saga's lease and it may have run out; stopping the step", zap.Error(err))
				cancel(ErrLeaseLost)
				return
			default:
				log.Warn("cannot renew the saga's lease; trying again", zap.Error(err))
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-stopped
		cancel(nil)
	}
}

var sagaTracer = telemetry.Tracer("github.com/modmono/shop/modules/ordering/saga")

// order loads the order of sg.
func (r *Runner) order(ctx context.Context, sg *domain.Saga) (*domain.Order, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
	defer cancel()
	return r.orders.Get(ctx, sg.OrderID())
}

// run executes sg's current step. It returns an error if the step should
// be tried again, or the reason a forward step failed for good (or kept
// failing past the deadline): then the saga compensates.
func (r *Runner) run(ctx context.Context, sg *domain.Saga, o orderingapi.Order) (failReason string, err error) {
	timeout := r.cfg.StepTimeout
	if sg.Step() == domain.StepCharge {
		timeout = r.cfg.PaymentTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch sg.Step() {
	case domain.StepReserve:
		lines := make([]inventoryapi.Line, len(o.Items))
		for i, l := range o.Items {
			lines[i] = inventoryapi.Line{ProductID: l.ProductID, Quantity: l.Quantity}
		}
		err = r.inventory.Reserve(ctx, o.ID, lines)
		if errors.Is(err, inventoryapi.ErrInsufficientStock) || errors.Is(err, inventoryapi.ErrInvalidReservation) {
			return "insufficient stock: " + message(err), nil
		}
	case domain.StepCharge:
		_, err = r.payments.Charge(ctx, paymentsapi.ChargeInput{OrderID: o.ID, CustomerID: o.CustomerID,
			Amount: o.Total, Currency: o.Currency, Token: sg.PaymentToken()})
		switch {
		case err == nil:
		case errors.Is(err, paymentsapi.ErrDeclined):
			return "payment declined", nil
		case context.Cause(ctx) == ErrLeaseLost:
			return "", ErrLeaseLost // the worker lost the saga, not the payment its time
		case ctx.Err() != nil || apperr.KindOf(err) == apperr.KindTimeout:
			return fmt.Sprintf("payment timed out after %s", r.cfg.PaymentTimeout), nil
		case apperr.KindOf(err) == apperr.KindUnavailable:
			// Payments (or its provider) cannot be reached: nothing was
			// decided, and Charge is idempotent, so it is tried again until
			// the checkout's deadline rather than cancelling at once.
		default:
			return "payment failed: " + message(err), nil
		}
	case domain.StepConfirm:
		err = r.inventory.Commit(ctx, o.ID)
	case domain.StepCancelPayment:
		err = r.payments.Cancel(ctx, o.ID, sg.Reason())
	case domain.StepRelease:
		err = r.inventory.Release(ctx, o.ID)
	case domain.StepRefund:
		_, err = r.payments.Refund(ctx, o.ID, sg.Reason())
		if errors.Is(err, paymentsapi.ErrNotCaptured) {
			err = nil // nothing was taken
		}
	case domain.StepRestock:
		err = r.inventory.Restock(ctx, o.ID)
	case domain.StepCancel:
	default:
		return "", fmt.Errorf("saga step %q is unknown to this version", sg.Step())
	}
	if err != nil {
		if sg.Step().Forward() && sg.PastDeadline(r.now()) {
			return fmt.Sprintf("checkout timed out at step %s: %s", sg.Step(), message(err)), nil
		}
		return "", err
	}
	return "", nil
}

// retry schedules w's step again with exponential backoff and jitter,
// capped at 30s (compensations retry until they succeed), and stores the
// saga with the steps done before it.
func (r *Runner) retry(ctx context.Context, log *zap.Logger, w *work, cause error) {
	sg := w.saga
	base := min(time.Duration(1<<min(sg.Attempts(), 10))*100*time.Millisecond, 30*time.Second)
	delay := base/2 + rand.N(base/2+1)
	log.Warn("saga step failed, retrying", zap.String("step", string(sg.Step())), zap.Int("attempt", sg.Attempts()+1),
		zap.Duration("retry_in", delay), zap.Error(cause))
	err := sg.Retry(delay, cause.Error(), r.now())
	if err == nil {
		err = r.sagas.Record(ctx, w.lease, sg, nil)
	}
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		log.Error("cannot schedule saga retry; the lease will expire and another attempt follow", zap.Error(err))
	}
}

// message is an error's text as a customer may read it in an order's
// failure reason: an *apperr.Error's message, never an internal error's.
func message(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) && e.Kind != apperr.KindInternal {
		return e.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "a service did not answer in time"
	}
	return "a service is unavailable"
}
