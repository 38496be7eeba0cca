package pg

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/telemetry"
)

// Saga is one order's saga as a worker holds it.
type Saga struct {
	OrderID  uuid.UUID
	Step     domain.Step
	Reason   string // why it compensates, once it does
	Token    string // the payment token, until the saga ends
	Attempts int    // failed attempts of the current step
	Deadline time.Time
	// Traceparent is the trace context of the request that started the
	// saga (placing or cancelling the order): its steps continue that trace.
	Traceparent string
}

// ErrLeaseLost means another worker took the saga over (this one was too
// slow); the step it ran is idempotent, so only its bookkeeping is dropped.
var ErrLeaseLost = errors.New("ordering: saga lease lost")

// Sagas stores sagas. Every change is fenced by the caller's lease.
type Sagas struct {
	db    *Orders
	owner string
	lease time.Duration
}

// NewSagas returns the saga store of this process; lease is how long a
// claimed saga stays this worker's without a word from it.
func NewSagas(orders *Orders, lease time.Duration) *Sagas {
	return &Sagas{db: orders, owner: uuid.NewString(), lease: lease}
}

// Claim leases up to n due sagas.
func (s *Sagas) Claim(ctx context.Context, n int) ([]Saga, error) {
	rows, err := s.db.db.Pool.Query(ctx, `
		UPDATE sagas SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)
		WHERE order_id IN (
			SELECT order_id FROM sagas
			WHERE step <> 'done' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
			ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING order_id, step, reason, payment_token, attempts, deadline, traceparent`, s.owner, s.lease.Seconds(), n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Saga, error) {
		var sg Saga
		err := row.Scan(&sg.OrderID, &sg.Step, &sg.Reason, &sg.Token, &sg.Attempts, &sg.Deadline, &sg.Traceparent)
		return sg, err
	})
}

// Advance records that sg's step is over and next comes, keeping the lease
// so the same worker goes on. reason, when set, is why the saga compensates.
func (s *Sagas) Advance(ctx context.Context, sg *Saga, next domain.Step, reason, detail string) error {
	if reason == "" {
		reason = sg.Reason
	}
	err := s.db.db.Tx(ctx, func(tx pgx.Tx) error {
		if err := s.fence(ctx, tx, sg.OrderID, `UPDATE sagas SET step = $3, reason = $4, attempts = 0, next_attempt_at = now(),
			lease_until = now() + make_interval(secs => $5), updated_at = now()
			WHERE order_id = $1 AND lease_owner = $2 AND lease_until > now()`, next, reason, s.lease.Seconds()); err != nil {
			return err
		}
		return logStep(ctx, tx, sg.OrderID, sg.Step, outcome(next, reason != sg.Reason), detail)
	})
	if err == nil {
		sg.Step, sg.Reason, sg.Attempts = next, reason, 0
	}
	return err
}

func outcome(next domain.Step, failed bool) string {
	if failed {
		return "failed, compensating with " + string(next)
	}
	return "done, next " + string(next)
}

// Retry gives up the lease and schedules sg's step again after delay.
func (s *Sagas) Retry(ctx context.Context, sg Saga, delay time.Duration, detail string) error {
	return s.db.db.Tx(ctx, func(tx pgx.Tx) error {
		if err := s.fence(ctx, tx, sg.OrderID, `UPDATE sagas SET attempts = attempts + 1,
			next_attempt_at = now() + make_interval(secs => $3), lease_owner = NULL, lease_until = NULL, updated_at = now()
			WHERE order_id = $1 AND lease_owner = $2 AND lease_until > now()`, delay.Seconds()); err != nil {
			return err
		}
		return logRetry(ctx, tx, sg.OrderID, sg.Step, detail)
	})
}

// Outcomes of a finished saga.
const (
	OutcomeConfirmed          = "confirmed"           // checkout succeeded
	OutcomeCancelled          = "cancelled"           // checkout failed and was compensated
	OutcomeCancelledConfirmed = "cancelled_confirmed" // a confirmed order was cancelled: refunded, restocked
)

// Finish ends sg: the order becomes confirmed (confirm) or cancelled with
// sg's reason, its event is published, and the saga is done — atomically.
// It returns the saga's outcome.
func (s *Sagas) Finish(ctx context.Context, sg Saga, confirm bool, now time.Time) (outcome string, err error) {
	err = s.db.db.Tx(ctx, func(tx pgx.Tx) error {
		if err := s.fence(ctx, tx, sg.OrderID, `UPDATE sagas SET step = 'done', payment_token = '', lease_owner = NULL,
			lease_until = NULL, updated_at = now() WHERE order_id = $1 AND lease_owner = $2 AND lease_until > now()`); err != nil {
			return err
		}
		o, err := get(ctx, tx, sg.OrderID, true)
		if err != nil {
			return err
		}
		wasConfirmed := o.Status() == orderingapi.StatusConfirmed
		outcome = OutcomeCancelled
		if wasConfirmed {
			outcome = OutcomeCancelledConfirmed
		}
		if confirm {
			outcome = OutcomeConfirmed
			if err := o.Confirm(now); err != nil {
				return err
			}
			if err := s.db.saveStatus(ctx, tx, o, orderingapi.OrderConfirmedV1{OrderStateV1: o.State()}); err != nil {
				return err
			}
		} else {
			if err := o.Cancel(sg.Reason, now); err != nil {
				return err
			}
			if err := s.db.saveStatus(ctx, tx, o, orderingapi.OrderCancelledV1{OrderStateV1: o.State(), WasConfirmed: wasConfirmed}); err != nil {
				return err
			}
		}
		return logStep(ctx, tx, sg.OrderID, sg.Step, "done, order "+o.Status(), "")
	})
	return outcome, err
}

// StartCancellation turns a confirmed order's finished saga into a
// cancellation saga (refund, restock, cancel). It returns the order.
func (s *Sagas) StartCancellation(ctx context.Context, orderID uuid.UUID, reason string) (*domain.Order, error) {
	var o *domain.Order
	err := s.db.db.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		if o, err = get(ctx, tx, orderID, true); err != nil {
			return err
		}
		if o.Status() != orderingapi.StatusConfirmed {
			return nil // the caller decides what another status means
		}
		tag, err := tx.Exec(ctx, `UPDATE sagas SET step = $2, reason = $3, attempts = 0, next_attempt_at = now(),
			deadline = now(), updated_at = now(), traceparent = $4 WHERE order_id = $1 AND step = 'done'`,
			orderID, domain.StepRefund, reason, telemetry.Traceparent(ctx))
		if err != nil || tag.RowsAffected() == 0 {
			return err // zero rows: a cancellation is already running
		}
		return logStep(ctx, tx, orderID, domain.StepDone, "cancellation requested", reason)
	})
	return o, err
}

// Order returns the order a saga works on.
func (s *Sagas) Order(ctx context.Context, id uuid.UUID) (orderingapi.Order, error) {
	o, err := s.db.Get(ctx, id)
	if err != nil {
		return orderingapi.Order{}, err
	}
	return o.Snapshot(), nil
}

// ReleaseLeases gives up every lease of this process (at shutdown), so
// another process resumes its sagas without waiting for them to expire.
func (s *Sagas) ReleaseLeases(ctx context.Context) error {
	_, err := s.db.db.Pool.Exec(ctx, `UPDATE sagas SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1`, s.owner)
	return err
}

// InFlight counts the sagas that have not ended, in every process.
func (s *Sagas) InFlight(ctx context.Context) (int, error) {
	var n int
	err := s.db.db.Pool.QueryRow(ctx, `SELECT count(*) FROM sagas WHERE step <> 'done'`).Scan(&n)
	return n, err
}

// Entry is one line of a saga's timeline. Consecutive retries of one step
// are one entry: Repeats counts them, At is the first, LastAt the latest and
// Detail the latest error.
type Entry struct {
	Step    string     `json:"step"`
	Outcome string     `json:"outcome"`
	Detail  string     `json:"detail,omitempty"`
	At      time.Time  `json:"at"`
	Repeats int        `json:"repeats"`
	LastAt  *time.Time `json:"last_at,omitempty"`
}

// Timeline returns the steps an order's saga went through.
func (s *Sagas) Timeline(ctx context.Context, orderID uuid.UUID) ([]Entry, error) {
	rows, err := s.db.db.Pool.Query(ctx, `SELECT step, outcome, detail, at, repeats, last_at FROM saga_log WHERE order_id = $1 ORDER BY seq`, orderID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Entry])
}

// Current returns the step an order's saga is at and why it compensates,
// if it does; found is false when the order has no saga.
func (s *Sagas) Current(ctx context.Context, orderID uuid.UUID) (step domain.Step, reason string, found bool, err error) {
	err = s.db.db.Pool.QueryRow(ctx, `SELECT step, reason FROM sagas WHERE order_id = $1`, orderID).Scan(&step, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	return step, reason, err == nil, err
}

func (s *Sagas) fence(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, sql string, args ...any) error {
	tag, err := tx.Exec(ctx, sql, append([]any{orderID, s.owner}, args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	return nil
}

func logStep(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, step domain.Step, outcome, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO saga_log (order_id, step, outcome, detail) VALUES ($1, $2, $3, $4)`, orderID, step, outcome, detail)
	return err
}

// logRetry records a failed attempt of step. When the saga's latest entry
// is already a retry of that step, it counts one more there instead of
// adding a row: a compensation retried for days adds one row, not
// thousands. The caller's lease makes it the saga's only writer.
func logRetry(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, step domain.Step, detail string) error {
	tag, err := tx.Exec(ctx, `
		WITH latest AS (SELECT seq, step, outcome FROM saga_log WHERE order_id = $1 ORDER BY seq DESC LIMIT 1)
		UPDATE saga_log l SET repeats = l.repeats + 1, detail = $3, last_at = now()
		FROM latest WHERE l.seq = latest.seq AND latest.step = $2 AND latest.outcome = 'retry'`, orderID, step, detail)
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	return logStep(ctx, tx, orderID, step, "retry", detail)
}
