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
	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
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
	Concurrency    int           // sagas advanced at once; default 32
	Poll           time.Duration // how often due retries are looked for; default 250ms
}

// Runner advances checkout sagas: the orchestrating process manager. Every
// instance of ordering runs one; they share the work through leases, and any
// of them resumes a saga whose worker died.
type Runner struct {
	cfg       RunnerConfig
	sagas     *pg.Sagas
	inventory inventoryapi.API
	payments  paymentsapi.API
	log       *zap.Logger
	now       func() time.Time
	finished  func(outcome string, placed time.Time) // counts and times finished sagas

	wake    chan struct{}
	slots   chan struct{}
	running sync.WaitGroup
}

// NewRunner returns a runner; finished, when set, is told each finished
// saga's outcome (pg.OutcomeConfirmed, OutcomeCancelled, OutcomeCancelledConfirmed)
// and when its order was placed.
func NewRunner(cfg RunnerConfig, sagas *pg.Sagas, inventory inventoryapi.API, payments paymentsapi.API, log *zap.Logger, finished func(string, time.Time)) *Runner {
	if cfg.StepTimeout == 0 {
		cfg.StepTimeout = 10 * time.Second
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 32
	}
	if cfg.Poll == 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if finished == nil {
		finished = func(string, time.Time) {}
	}
	return &Runner{cfg: cfg, sagas: sagas, inventory: inventory, payments: payments, log: log, now: time.Now,
		finished: finished, wake: make(chan struct{}, 1), slots: make(chan struct{}, cfg.Concurrency)}
}

// LeaseFor is how long a worker keeps a saga: enough for its slowest step.
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
			for _, sg := range claimed {
				r.slots <- struct{}{}
				r.running.Go(func() {
					defer func() {
						<-r.slots
						r.Kick() // a free slot may take a waiting saga
					}()
					r.advance(sg)
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

// advance runs sg's steps until it ends, must wait for a retry, or was
// taken over. It does not stop at shutdown mid-step: steps are short and
// bounded by their timeouts, and finishing one saves a retry.
//
// Each step runs in a span "saga <step>" whose parent is the request that
// started the saga (its stored traceparent), however late and in whichever
// process the step runs: one checkout is one trace.
func (r *Runner) advance(sg pg.Saga) {
	parent := telemetry.WithTraceparent(context.Background(), sg.Traceparent)
	for sg.Step != domain.StepDone {
		if !r.step(parent, &sg) {
			return
		}
	}
}

// step runs sg's current step and records its outcome. It reports whether
// the saga goes on at once with its next step.
func (r *Runner) step(parent context.Context, sg *pg.Saga) (goOn bool) {
	ctx, span := sagaTracer.Start(parent, "saga "+string(sg.Step),
		trace.WithAttributes(telemetry.Module(orderingapi.Name), attribute.String("order_id", sg.OrderID.String()),
			attribute.String("saga.step", string(sg.Step)), attribute.Int("saga.attempt", sg.Attempts+1)))
	var failed error
	defer func() { telemetry.End(span, failed) }()
	log := telemetry.Logger(ctx, r.log).With(zap.String("order_id", sg.OrderID.String()))

	o, err := r.order(ctx, *sg)
	if err != nil {
		failed = err
		r.retry(ctx, log, *sg, err)
		return false
	}
	next, reason, err := r.run(ctx, *sg, o)
	switch {
	case err != nil:
		failed = err
		r.retry(ctx, log, *sg, err)
		return false
	case next == domain.StepDone:
		outcome, err := r.sagas.Finish(ctx, *sg, sg.Step == domain.StepConfirm, r.now())
		if err != nil {
			failed = err
			r.retry(ctx, log, *sg, err)
			return false
		}
		span.SetAttributes(attribute.String("saga.outcome", outcome))
		r.finished(outcome, o.CreatedAt)
		log.Info("saga finished", zap.String("outcome", outcome), zap.String("reason", sg.Reason))
		return false
	default:
		if reason != "" {
			span.SetAttributes(attribute.String("saga.compensating_because", reason))
		}
		if err := r.sagas.Advance(ctx, sg, next, reason, ""); err != nil {
			failed = err
			if !errors.Is(err, pg.ErrLeaseLost) {
				r.retry(ctx, log, *sg, err)
			}
			return false
		}
		return true
	}
}

var sagaTracer = telemetry.Tracer("github.com/modmono/shop/modules/ordering/saga")

// order loads what the steps need.
func (r *Runner) order(ctx context.Context, sg pg.Saga) (orderingapi.Order, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
	defer cancel()
	return r.sagas.Order(ctx, sg.OrderID)
}

// run executes sg's current step. It returns the next step, or an error if
// the step should be tried again. A forward step that fails for good (or
// keeps failing past the deadline) returns its compensation and the reason.
func (r *Runner) run(ctx context.Context, sg pg.Saga, o orderingapi.Order) (domain.Step, string, error) {
	var err error
	timeout := r.cfg.StepTimeout
	if sg.Step == domain.StepCharge {
		timeout = r.cfg.PaymentTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch sg.Step {
	case domain.StepReserve:
		lines := make([]inventoryapi.Line, len(o.Items))
		for i, l := range o.Items {
			lines[i] = inventoryapi.Line{ProductID: l.ProductID, Quantity: l.Quantity}
		}
		err = r.inventory.Reserve(ctx, o.ID, lines)
		if errors.Is(err, inventoryapi.ErrInsufficientStock) || errors.Is(err, inventoryapi.ErrInvalidReservation) {
			return r.fail(sg, "insufficient stock: "+message(err))
		}
	case domain.StepCharge:
		_, err = r.payments.Charge(ctx, paymentsapi.ChargeInput{OrderID: o.ID, CustomerID: o.CustomerID,
			Amount: o.Total, Currency: o.Currency, Token: sg.Token})
		switch {
		case err == nil:
		case errors.Is(err, paymentsapi.ErrDeclined):
			return r.fail(sg, "payment declined")
		case ctx.Err() != nil || apperr.KindOf(err) == apperr.KindTimeout:
			return r.fail(sg, fmt.Sprintf("payment timed out after %s", r.cfg.PaymentTimeout))
		case apperr.KindOf(err) == apperr.KindUnavailable:
			// Payments (or its provider) cannot be reached: nothing was
			// decided, and Charge is idempotent, so it is tried again until
			// the checkout's deadline rather than cancelling at once.
		default:
			return r.fail(sg, "payment failed: "+message(err))
		}
	case domain.StepConfirm:
		err = r.inventory.Commit(ctx, o.ID)
	case domain.StepCancelPayment:
		err = r.payments.Cancel(ctx, o.ID, sg.Reason)
	case domain.StepRelease:
		err = r.inventory.Release(ctx, o.ID)
	case domain.StepRefund:
		_, err = r.payments.Refund(ctx, o.ID, sg.Reason)
		if errors.Is(err, paymentsapi.ErrNotCaptured) {
			err = nil // nothing was taken
		}
	case domain.StepRestock:
		err = r.inventory.Restock(ctx, o.ID)
	case domain.StepCancel:
	default:
		return "", "", fmt.Errorf("saga step %q is unknown to this version", sg.Step)
	}
	if err != nil {
		if sg.Step.Forward() && r.now().After(sg.Deadline) {
			return r.fail(sg, fmt.Sprintf("checkout timed out at step %s: %s", sg.Step, message(err)))
		}
		return "", "", err
	}
	return sg.Step.Next(), "", nil
}

// fail moves sg to the compensation of its step.
func (r *Runner) fail(sg pg.Saga, reason string) (domain.Step, string, error) {
	next, ok := sg.Step.Compensation()
	if !ok {
		return "", "", fmt.Errorf("step %s cannot fail for good: %s", sg.Step, reason)
	}
	return next, reason, nil
}

// retry schedules sg's step again with exponential backoff and jitter,
// capped at 30s: compensations retry until they succeed.
func (r *Runner) retry(ctx context.Context, log *zap.Logger, sg pg.Saga, cause error) {
	if errors.Is(cause, pg.ErrLeaseLost) {
		return
	}
	base := min(time.Duration(1<<min(sg.Attempts, 10))*100*time.Millisecond, 30*time.Second)
	delay := base/2 + rand.N(base/2+1)
	log.Warn("saga step failed, retrying", zap.String("step", string(sg.Step)), zap.Int("attempt", sg.Attempts+1),
		zap.Duration("retry_in", delay), zap.Error(cause))
	if err := r.sagas.Retry(ctx, sg, delay, cause.Error()); err != nil && !errors.Is(err, pg.ErrLeaseLost) {
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
