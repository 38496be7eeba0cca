package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
)

// The app owns the interfaces of what it stores; internal/adapters/pg
// implements them, and module.go wires the two.

// IdempotencyKey is a customer's key for one order request and the hash of
// the request that used it first.
type IdempotencyKey struct {
	CustomerID uuid.UUID
	Key        string
	Hash       []byte
}

// Errors of the repositories.
var (
	// ErrKeyTaken means the idempotency key was used first by another
	// request; nothing was stored.
	ErrKeyTaken = errors.New("ordering: idempotency key taken")
	// ErrKeyUnused means no order was placed with the idempotency key yet.
	ErrKeyUnused = errors.New("ordering: idempotency key unused")
	// ErrLeaseLost means the worker's claim of a saga is no longer the
	// saga's latest: its lease ran out and the saga was claimed again (by
	// another process or by this one), or it was given up. Nothing was
	// written; the step it ran is idempotent, so only its bookkeeping is
	// dropped.
	ErrLeaseLost = errors.New("ordering: saga lease lost")
)

// Orders stores orders.
type Orders interface {
	// Place stores a new order (its recorded changes published), its
	// idempotency key and its saga in one transaction; ErrKeyTaken if the
	// key was used meanwhile. With claim, the saga is born claimed by this
	// process, and the returned lease is its worker's (see Sagas); without,
	// any instance claims it.
	Place(ctx context.Context, o *domain.Order, key IdempotencyKey, saga *domain.Saga, claim bool) (Lease, error)
	// ByKey returns the order an idempotency key made and the hash of the
	// request that made it; ErrKeyUnused if none did.
	ByKey(ctx context.Context, customerID uuid.UUID, key string) (orderID uuid.UUID, hash []byte, err error)
	// Get returns an order; orderingapi.ErrOrderNotFound if there is none.
	Get(ctx context.Context, id uuid.UUID) (*domain.Order, error)
}

// Lease is a worker's claim of a saga. Token is the claim's fencing token:
// every claim gets a new one, and a write carrying an older one is refused.
type Lease struct {
	OrderID uuid.UUID
	Token   int64
}

// Unleased names a saga for a change by someone who holds no lease (a
// customer cancelling their order). Such a change fences out any worker
// holding the saga, which claims it again to go on.
func Unleased(orderID uuid.UUID) Lease { return Lease{OrderID: orderID} }

// Claimed is a saga a worker claimed, with its lease.
type Claimed struct {
	Saga  *domain.Saga
	Lease Lease
	// Order is the saga's order as stored, when whoever claimed the saga
	// holds it (a saga born claimed); nil: its worker loads it.
	Order *domain.Order
}

// Sagas stores sagas, leasing them to workers for a period the store is
// made with (see LeaseFor). Every write is fenced: made only while the lease it
// names is the saga's latest claim.
type Sagas interface {
	// Claim leases up to n due sagas (not ended, next attempt due, no live
	// lease) to this process, each under a new fencing token.
	Claim(ctx context.Context, n int) ([]Claimed, error)
	// Renew extends l for another lease period from now; ErrLeaseLost if
	// l is no longer the saga's latest claim.
	Renew(ctx context.Context, l Lease) error
	// Record stores the change a worker made to its claimed saga: sg is
	// the saga as the worker last stored it (or claimed it), changed by
	// Succeed, Fail or Finish; o is its order when Finish changed it (its
	// recorded changes published), else nil. Saga, timeline and order are
	// stored in one transaction, fenced by l; ErrLeaseLost if l is not the
	// saga's latest claim. A saga left due at once (not ended) stays leased
	// to l for another lease period; an ended one is let go. Nothing is
	// read first: the fence proves that no one else wrote the saga or the
	// order since the claim, so the worker's copies are what is stored.
	Record(ctx context.Context, l Lease, sg *domain.Saga, o *domain.Order) error
	// Update loads the saga of l, applies fn, and stores it (its entries
	// added to its timeline) in one transaction, fenced by l; ErrLeaseLost
	// if l is not the saga's latest claim. For a change without a lease
	// (a customer's cancellation) fn also gets the order, loaded and
	// locked, and a change of it is stored and published too; a worker's
	// change (a retry) gets nil. A saga left due at once stays leased to l;
	// otherwise the lease is given up.
	Update(ctx context.Context, l Lease, fn func(*domain.Saga, *domain.Order) error) error
	// ReleaseLeases gives up every lease of this process (at shutdown), so
	// another process resumes its sagas without waiting for them to expire.
	ReleaseLeases(ctx context.Context) error
	// Get returns an order's saga; orderingapi.ErrOrderNotFound if it has none.
	Get(ctx context.Context, orderID uuid.UUID) (*domain.Saga, error)
	// Timeline returns the entries of an order's saga, oldest first.
	Timeline(ctx context.Context, orderID uuid.UUID) ([]TimelineEntry, error)
	// InFlight counts the sagas that have not ended, in every process.
	InFlight(ctx context.Context) (int, error)
}

// TimelineEntry is one line of a saga's timeline. Consecutive retries of one
// step are one entry: Repeats counts them, At is the first, LastAt the
// latest and Detail the latest error.
type TimelineEntry struct {
	Step    string     `json:"step"`
	Outcome string     `json:"outcome"`
	Detail  string     `json:"detail,omitempty"`
	At      time.Time  `json:"at"`
	Repeats int        `json:"repeats"`
	LastAt  *time.Time `json:"last_at,omitempty"`
}

// Views is the order read model.
type Views interface {
	// List returns a page of a customer's orders, newest first, plus one
	// more when there are more.
	List(ctx context.Context, q orderingapi.ListQuery) ([]orderingapi.OrderView, error)
}
