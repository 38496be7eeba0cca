package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
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

// Run advances sagas until ctx ends, then waits for the ones in progress.
func (r *Runner) Run(ctx context.Context) {
	defer r.running.Wait()
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	for ctx.Err() == nil {
		if free := cap(r.slots) - len(r.slots); free > 0 {
			claimed, err := r.sagas.Claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("cannot claim sagas", zap.Error(err))
			}
			for _, c := range claimed {
				r.slots <- struct{}{}
				r.running.Go(func() {
					defer func() {
						<-r.slots
						r.Kick() // a free slot may take a waiting saga
					}()
					r.advance(c)
				})
			}
			if len(claimed) == free {
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

// advance runs c's steps until its saga ends, must wait for a retry, or was
// taken over. It does not stop at shutdown mid-step: steps are short and
// bounded by their timeouts, and finishing one saves a retry.
//
// Each step runs in a span "saga <step>" whose parent is the request that
// started the saga (its stored traceparent), however late and in whichever
// process the step runs: one checkout is one trace.
func (r *Runner) advance(c Claimed) {
	parent := telemetry.WithTraceparent(context.Background(), c.Saga.Traceparent())
	sg := c.Saga
	for !sg.Done() {
		var goOn bool
		if sg, goOn = r.step(parent, sg, c.Lease); !goOn {
			return
		}
	}
}

// step runs sg's current step and records its outcome, holding the lease
// while it runs. It returns the saga as stored after the step and whether
// the saga goes on at once with its next step.
func (r *Runner) step(parent context.Context, sg *domain.Saga, lease Lease) (_ *domain.Saga, goOn bool) {
	ctx, span := sagaTracer.Start(parent, "saga "+string(sg.Step()),
		trace.WithAttributes(telemetry.Module(orderingapi.Name), attribute.String("order_id", sg.OrderID().String()),
			attribute.String("saga.step", string(sg.Step())), attribute.Int("saga.attempt", sg.Attempts()+1)))
	var failed error
	defer func() { telemetry.End(span, failed) }()
	log := telemetry.Logger(ctx, r.log).With(zap.String("order_id", sg.OrderID().String()))
	ctx, release := r.hold(ctx, lease, log)
	defer release()

	// record stores a change of the saga, fenced by the lease, and keeps
	// the saga as stored.
	var outcome domain.Outcome
	var placed time.Time
	record := func(change func(*domain.Saga, *domain.Order) error) error {
		var after *domain.Saga
		err := r.sagas.Update(ctx, lease, func(stored *domain.Saga, o *domain.Order) error {
			after = stored
			if o != nil { // loaded at the step that ends the saga
				placed = o.CreatedAt()
			}
			return change(stored, o)
		})
		if err == nil {
			sg = after
		}
		return err
	}
	err := r.stepOnce(ctx, sg, record, &outcome)
	switch {
	case err == nil && outcome != "":
		span.SetAttributes(attribute.String("saga.outcome", string(outcome)))
		r.finished(outcome, placed)
		log.Info("saga finished", zap.String("outcome", string(outcome)), zap.String("reason", sg.Reason()))
		return sg, false
	case err == nil:
		if sg.Compensating() {
			span.SetAttributes(attribute.String("saga.compensating_because", sg.Reason()))
		}
		return sg, true
	case errors.Is(err, ErrLeaseLost) || errors.Is(context.Cause(ctx), ErrLeaseLost):
		failed = ErrLeaseLost
		log.Warn("saga taken over by a newer claim; its step's outcome is dropped", zap.String("step", string(sg.Step())))
		return sg, false
	default:
		failed = err
		r.retry(ctx, log, sg, lease, err)
		return sg, false
	}
}

// stepOnce loads sg's order, runs its step and records the outcome with
// record. At a terminal step it sets outcome.
func (r *Runner) stepOnce(ctx context.Context, sg *domain.Saga, record func(func(*domain.Saga, *domain.Order) error) error, outcome *domain.Outcome) error {
	o, err := r.order(ctx, sg)
	if err != nil {
		return err
	}
	reason, err := r.run(ctx, sg, o)
	if err != nil {
		return err
	}
	now := r.now()
	return record(func(stored *domain.Saga, order *domain.Order) error {
		switch {
		case reason != "":
			return stored.Fail(reason)
		case stored.Step().Terminal():
			var err error
			*outcome, err = stored.Finish(order, now)
			return err
		default:
			return stored.Succeed()
		}
	})
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

// order loads what the steps need.
func (r *Runner) order(ctx context.Context, sg *domain.Saga) (orderingapi.Order, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
	defer cancel()
	o, err := r.orders.Get(ctx, sg.OrderID())
	if err != nil {
		return orderingapi.Order{}, err
	}
	return o.Snapshot(), nil
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

// retry schedules sg's step again with exponential backoff and jitter,
// capped at 30s: compensations retry until they succeed.
func (r *Runner) retry(ctx context.Context, log *zap.Logger, sg *domain.Saga, lease Lease, cause error) {
	base := min(time.Duration(1<<min(sg.Attempts(), 10))*100*time.Millisecond, 30*time.Second)
	delay := base/2 + rand.N(base/2+1)
	log.Warn("saga step failed, retrying", zap.String("step", string(sg.Step())), zap.Int("attempt", sg.Attempts()+1),
		zap.Duration("retry_in", delay), zap.Error(cause))
	err := r.sagas.Update(ctx, lease, func(stored *domain.Saga, _ *domain.Order) error { return stored.Retry(delay, cause.Error()) })
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
