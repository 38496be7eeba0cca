// Package app implements ordering's API and runs the checkout saga.
package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/ordering/internal/domain"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/page"
	"github.com/modmono/shop/platform/telemetry"
)

// CheckoutDeadline bounds the forward steps of a checkout: past it, a step
// that keeps failing (a dependency down) compensates instead of retrying.
const CheckoutDeadline = 2 * time.Minute

// catalogTimeout bounds the price look-ups of one order.
const catalogTimeout = 5 * time.Second

// Service implements orderingapi.API.
type Service struct {
	orders  Orders
	sagas   Sagas
	views   Views
	catalog catalogapi.API
	runner  *Runner
	now     func() time.Time
}

var _ orderingapi.API = (*Service)(nil)

// New returns the service.
func New(orders Orders, sagas Sagas, views Views, catalog catalogapi.API, runner *Runner) *Service {
	return &Service{orders: orders, sagas: sagas, views: views, catalog: catalog, runner: runner, now: time.Now}
}

// MaxKeyLength bounds an Idempotency-Key.
const MaxKeyLength = 255

func (s *Service) PlaceOrder(ctx context.Context, customerID uuid.UUID, key string, in orderingapi.PlaceOrderInput) (orderingapi.Placed, error) {
	if key == "" {
		return orderingapi.Placed{}, orderingapi.ErrIdempotencyKeyMissing
	}
	if len(key) > MaxKeyLength || strings.IndexFunc(key, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) >= 0 {
		return orderingapi.Placed{}, orderingapi.ErrIdempotencyKeyInvalid
	}
	if customerID == uuid.Nil {
		return orderingapi.Placed{}, apperr.Invalid(orderingapi.ErrInvalidOrder.Code, apperr.FieldError{Field: "customer_id", Message: "required"})
	}
	if err := domain.ValidateInput(in); err != nil {
		return orderingapi.Placed{}, err
	}
	hash := requestHash(in)
	// The key is checked when the order is stored, not before: a repeated
	// request is rare, and asking first would cost every order a round trip.
	placed, err := s.place(ctx, customerID, key, hash, in)
	if err != nil {
		if first, rerr := s.replay(ctx, customerID, key, hash); !errors.Is(rerr, ErrKeyUnused) {
			return first, rerr // the key was used: its order's answer, whatever failed here
		}
	}
	return placed, err
}

// place prices and stores a new order with its saga, which starts at once
// when the runner has room.
func (s *Service) place(ctx context.Context, customerID uuid.UUID, key string, hash []byte, in orderingapi.PlaceOrderInput) (orderingapi.Placed, error) {
	products, err := s.prices(ctx, in)
	if err != nil {
		return orderingapi.Placed{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return orderingapi.Placed{}, err
	}
	// To the microsecond, as Postgres keeps it: the saga's worker starts
	// with this order in hand, and the stored one must equal it.
	now := s.now().Truncate(time.Microsecond)
	o, err := domain.NewOrder(id, customerID, in, products, now)
	if err != nil {
		return orderingapi.Placed{}, err
	}
	saga := domain.NewSaga(id, in.Payment.Token, now.Add(CheckoutDeadline), telemetry.Traceparent(ctx))
	claim := s.runner.Hold()
	lease, err := s.orders.Place(ctx, o, IdempotencyKey{CustomerID: customerID, Key: key, Hash: hash}, saga, claim)
	switch {
	case err != nil && claim:
		s.runner.Unhold()
	case claim:
		// A copy as stored: without the placement's recorded changes, which
		// are published already.
		s.runner.Start(Claimed{Saga: saga, Lease: lease, Order: domain.Rehydrate(o.Snapshot(), o.Revision())})
	default:
		s.runner.Kick()
	}
	if err != nil {
		return orderingapi.Placed{}, err
	}
	return orderingapi.Placed{ID: id, Status: orderingapi.StatusPending}, nil
}

// replay answers a request whose idempotency key was used before: the same
// order for the same body, an error for another body, ErrKeyUnused if unused.
func (s *Service) replay(ctx context.Context, customerID uuid.UUID, key string, hash []byte) (orderingapi.Placed, error) {
	orderID, firstHash, err := s.orders.ByKey(ctx, customerID, key)
	if err != nil {
		return orderingapi.Placed{}, err
	}
	if !bytes.Equal(firstHash, hash) {
		return orderingapi.Placed{}, orderingapi.ErrIdempotencyKeyReused
	}
	o, err := s.orders.Get(ctx, orderID)
	if err != nil {
		return orderingapi.Placed{}, err
	}
	return orderingapi.Placed{ID: orderID, Status: o.Status()}, nil
}

// requestHash identifies a request body by its meaning, not its spelling:
// the decoded input is encoded again before hashing.
func requestHash(in orderingapi.PlaceOrderInput) []byte {
	b, _ := json.Marshal(in) // plain structs: cannot fail
	h := sha256.Sum256(b)
	return h[:]
}

// prices looks the order's products up in the catalog, concurrently.
func (s *Service) prices(ctx context.Context, in orderingapi.PlaceOrderInput) (map[uuid.UUID]domain.Product, error) {
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	var mu sync.Mutex
	products := make(map[uuid.UUID]domain.Product, len(in.Items))
	var firstErr error
	var wg sync.WaitGroup
	for _, l := range in.Items {
		wg.Go(func() {
			p, err := s.catalog.GetProduct(ctx, l.ProductID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, catalogapi.ErrProductNotFound):
				// left out: NewOrder names it as unknown
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			default:
				products[p.ID] = domain.Product{ID: p.ID, Name: p.Name, Price: p.Price, Currency: p.Currency}
			}
		})
	}
	wg.Wait()
	return products, firstErr
}

func (s *Service) GetOrder(ctx context.Context, id uuid.UUID) (orderingapi.Order, error) {
	o, err := s.orders.Get(ctx, id)
	if err != nil {
		return orderingapi.Order{}, err
	}
	return o.Snapshot(), nil
}

// Statuses an order list can be filtered by.
var Statuses = []string{orderingapi.StatusPending, orderingapi.StatusConfirmed, orderingapi.StatusCancelled}

func (s *Service) ListOrders(ctx context.Context, q orderingapi.ListQuery) (page.Page[orderingapi.OrderView], error) {
	if err := q.Page.Validate(); err != nil {
		return page.Page[orderingapi.OrderView]{}, err
	}
	items, err := s.views.List(ctx, q)
	if err != nil {
		return page.Page[orderingapi.OrderView]{}, err
	}
	return page.Of(items, q.Page.Limit, func(o orderingapi.OrderView) uuid.UUID { return o.ID }), nil
}

// CancellationWait is how long CancelOrder waits for the compensation to
// finish before answering with the order as it stands.
const CancellationWait = 3 * time.Second

// CancelOrder cancels a confirmed order on behalf of by, who must be its
// customer or an administrator: the saga that confirmed it starts again to
// refund and restock (see domain.Saga.StartCancellation).
func (s *Service) CancelOrder(ctx context.Context, id uuid.UUID, by auth.Principal) (orderingapi.Order, error) {
	if by.UserID == uuid.Nil || !by.Role.Valid() {
		return orderingapi.Order{}, auth.ErrForbidden // a cancellation names who asks for it
	}
	reason := "cancelled by the customer"
	if by.Role == auth.Admin {
		reason = "cancelled by an administrator"
	}
	var o orderingapi.Order
	err := s.sagas.Update(ctx, Unleased(id), func(sg *domain.Saga, order *domain.Order) error {
		if !by.CanAccess(order.CustomerID()) {
			return auth.ErrForbidden
		}
		o = order.Snapshot()
		switch order.Status() {
		case orderingapi.StatusCancelled:
			return nil // already cancelled: nothing more to do
		case orderingapi.StatusPending:
			return orderingapi.ErrNotCancellable.WithMessage("the order is still being checked out")
		}
		return sg.StartCancellation(order, reason, telemetry.Traceparent(ctx), s.now())
	})
	if err != nil {
		return orderingapi.Order{}, err
	}
	if o.Status == orderingapi.StatusCancelled {
		return o, nil
	}
	s.runner.Kick()
	deadline := time.NewTimer(CancellationWait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return o, nil
		case <-deadline.C:
			return o, nil
		case <-tick.C:
			cur, err := s.orders.Get(ctx, id)
			if err != nil {
				return orderingapi.Order{}, err
			}
			if cur.Status() == orderingapi.StatusCancelled {
				return cur.Snapshot(), nil
			}
		}
	}
}

// SagaView is an order's checkout saga as the admin API shows it.
type SagaView struct {
	OrderID     uuid.UUID       `json:"order_id"`
	Status      string          `json:"status"`       // running, compensating, confirmed or cancelled
	OrderStatus string          `json:"order_status"` // pending, confirmed or cancelled
	Step        string          `json:"step"`         // the step it is at; "done" once it ended
	Reason      string          `json:"reason,omitempty"`
	Steps       []TimelineEntry `json:"steps"`
}

// Saga statuses.
const (
	SagaRunning      = "running"      // going forward
	SagaCompensating = "compensating" // undoing what it did, for Reason
)

// Saga returns the state and timeline of an order's saga.
func (s *Service) Saga(ctx context.Context, id uuid.UUID) (SagaView, error) {
	o, err := s.GetOrder(ctx, id)
	if err != nil {
		return SagaView{}, err
	}
	sg, err := s.sagas.Get(ctx, id)
	if err != nil {
		return SagaView{}, err
	}
	steps, err := s.sagas.Timeline(ctx, id)
	if err != nil {
		return SagaView{}, err
	}
	if steps == nil {
		steps = []TimelineEntry{}
	}
	v := SagaView{OrderID: id, OrderStatus: o.Status, Step: string(sg.Step()), Reason: sg.Reason(), Steps: steps}
	switch {
	case sg.Done():
		v.Status = o.Status
	case sg.Compensating():
		v.Status = SagaCompensating
	default:
		v.Status = SagaRunning
	}
	return v, nil
}

// Timeline returns the steps of an order's saga.
func (s *Service) Timeline(ctx context.Context, id uuid.UUID) ([]TimelineEntry, error) {
	return s.sagas.Timeline(ctx, id)
}
