// Package app implements payments' API. Each operation loads the order's
// payment, asks the provider what the payment's status calls for (outside
// any transaction), and appends the outcome with optimistic concurrency;
// losing a race means reloading and deciding again. Because every provider
// call is idempotent per order, repeating a step is always safe, and a call
// interrupted by a crash resumes from the stored status on the next call.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/page"
)

// maxAttempts bounds how often one call reloads the payment after losing a
// race; each reload finds the payment further along, so a few suffice.
const maxAttempts = 8

// Default reasons when the caller gives none.
const (
	defaultCancelReason = "order cancelled"
	defaultRefundReason = "refund requested"
)

// Service implements paymentsapi.API.
type Service struct {
	payments Payments
	provider domain.Provider
	now      func() time.Time
}

var _ paymentsapi.API = (*Service)(nil)

// New returns the service. provider is the guarded provider (timeouts and
// circuit breaker); now is the clock, time.Now when nil.
func New(payments Payments, provider domain.Provider, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{payments: payments, provider: provider, now: now}
}

func (s *Service) Charge(ctx context.Context, in paymentsapi.ChargeInput) (paymentsapi.Payment, error) {
	if err := domain.ValidateCharge(in); err != nil {
		return paymentsapi.Payment{}, err
	}
	var p *domain.Payment
	first := true
	err := s.retry(func() (err error) {
		p, err = s.charge(ctx, in, first)
		first = false
		return err
	})
	if err != nil {
		return paymentsapi.Payment{}, err
	}
	return s.show(ctx, p)
}

// charge drives the order's payment forward until it is captured, failed or
// called off, and returns it captured.
//
// A first attempt assumes the order has no payment yet, as nearly every
// charge finds, and saves a new one without looking: the order's claim in
// the same batch makes that ErrConflict when it has one (a repeated charge,
// a cancellation that came first), and the next attempt loads it.
func (s *Service) charge(ctx context.Context, in paymentsapi.ChargeInput, first bool) (*domain.Payment, error) {
	var p *domain.Payment
	err := ErrNotFound
	if !first {
		p, err = s.payments.ByOrder(ctx, in.OrderID)
	}
	if errors.Is(err, ErrNotFound) {
		if p, err = domain.Initiate(newID(), in, s.now()); err == nil {
			err = s.payments.Save(ctx, p)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := p.Matches(in); err != nil {
		return nil, err
	}
	for {
		var announce []bus.Event
		switch p.Status() {
		case domain.StatusInitiated:
			if announce, err = s.authorizeAndCapture(ctx, p, in.Token); err != nil {
				return nil, err
			}
		case domain.StatusAuthorized:
			if announce, err = s.capture(ctx, p); err != nil {
				return nil, err
			}
		case domain.StatusCaptured:
			return p, nil
		case domain.StatusFailed:
			return nil, paymentsapi.ErrDeclined.WithMessage("the payment failed: " + p.Reason())
		default: // cancelled, voided, refunded: the order was called off
			return nil, paymentsapi.ErrCancelled
		}
		// A capture is appended at the version the payment was read at, so
		// of two racing captures only one is stored.
		if err := s.record(ctx, p, announce); err != nil {
			return nil, err
		}
	}
}

// authorizeAndCapture asks the provider to authorize an initiated payment
// and, once it has, to capture it at once, and decides both, to be recorded
// in one commit. Waiting for the capture to record the authorization is
// safe because the initiated payment is stored already: a Cancel meanwhile
// voids the authorization, or finds the capture and refunds it. A capture
// that fails records the authorization alone, which the next charge
// captures or a Cancel voids.
func (s *Service) authorizeAndCapture(ctx context.Context, p *domain.Payment, token string) ([]bus.Event, error) {
	out, err := s.provider.Authorize(ctx, p.OrderID(), token, p.Money())
	if err != nil {
		return nil, err
	}
	announce, err := s.decide(p, func() ([]domain.Recorded, error) { return p.Authorize(out, s.now()) })
	if err != nil || p.Status() != domain.StatusAuthorized {
		return announce, err
	}
	captured, err := s.capture(ctx, p)
	if err != nil {
		if rerr := s.record(ctx, p, announce); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	return append(announce, captured...), nil
}

// capture asks the provider to capture an authorized payment and decides
// the outcome.
func (s *Service) capture(ctx context.Context, p *domain.Payment) ([]bus.Event, error) {
	out, err := s.provider.Capture(ctx, p.OrderID(), p.Money())
	if err != nil {
		return nil, err
	}
	return s.decide(p, func() ([]domain.Recorded, error) { return p.Capture(out, s.now()) })
}

func (s *Service) Cancel(ctx context.Context, orderID uuid.UUID, reason string) error {
	reason, err := domain.NormalizeReason(reason, defaultCancelReason)
	if err != nil {
		return err
	}
	return s.retry(func() error { return s.cancel(ctx, orderID, reason) })
}

// cancel makes sure the order ends up with no money taken.
func (s *Service) cancel(ctx context.Context, orderID uuid.UUID, reason string) error {
	p, err := s.payments.ByOrder(ctx, orderID)
	if errors.Is(err, ErrNotFound) {
		return s.payments.Save(ctx, domain.CancelUnpaid(newID(), orderID, reason, s.now()))
	}
	if err != nil {
		return err
	}
	for {
		var announce []bus.Event
		switch p.Status() {
		case domain.StatusInitiated, domain.StatusAuthorized:
			out, err := s.provider.Void(ctx, orderID)
			if err != nil {
				return err
			}
			switch {
			case out.Declined == domain.DeclinedCaptured:
				// The provider captured but the capture was never recorded:
				// a charge stopped between the two, or has yet to record it.
				// Record it (a repeated capture tells its reference); the
				// next turn refunds it.
				if out, err = s.provider.Capture(ctx, orderID, p.Money()); err != nil {
					return err
				}
				announce, err = s.decide(p, func() ([]domain.Recorded, error) { return p.RecoverCapture(out, s.now()) })
			case out.Declined != "":
				return paymentsapi.ErrProviderRefused.WithMessage("the payment provider refused to void: " + out.Declined)
			default:
				announce, err = s.decide(p, func() ([]domain.Recorded, error) { return p.Void(reason, s.now()) })
			}
			if err != nil {
				return err
			}
		case domain.StatusCaptured:
			if announce, err = s.refundStep(ctx, p, reason); err != nil {
				return err
			}
		default: // new, cancelled, failed, voided, refunded: no money taken
			return nil
		}
		if err := s.record(ctx, p, announce); err != nil {
			return err
		}
	}
}

func (s *Service) Refund(ctx context.Context, orderID uuid.UUID, reason string) (paymentsapi.Payment, error) {
	reason, err := domain.NormalizeReason(reason, defaultRefundReason)
	if err != nil {
		return paymentsapi.Payment{}, err
	}
	var p *domain.Payment
	err = s.retry(func() (err error) {
		p, err = s.refund(ctx, orderID, reason)
		return err
	})
	if err != nil {
		return paymentsapi.Payment{}, err
	}
	return s.show(ctx, p)
}

// refund returns the order's payment refunded.
func (s *Service) refund(ctx context.Context, orderID uuid.UUID, reason string) (*domain.Payment, error) {
	p, err := s.payments.ByOrder(ctx, orderID)
	if errors.Is(err, ErrNotFound) {
		return nil, paymentsapi.ErrPaymentNotFound
	}
	if err != nil {
		return nil, err
	}
	switch p.Status() {
	case domain.StatusRefunded:
		return p, nil
	case domain.StatusCaptured:
		announce, err := s.refundStep(ctx, p, reason)
		if err != nil {
			return nil, err
		}
		if err := s.record(ctx, p, announce); err != nil {
			return nil, err
		}
		return p, nil
	case domain.StatusCancelled:
		return nil, paymentsapi.ErrPaymentNotFound
	default:
		return nil, paymentsapi.ErrNotCaptured
	}
}

// refundStep asks the provider to refund a captured payment and records it.
func (s *Service) refundStep(ctx context.Context, p *domain.Payment, reason string) ([]bus.Event, error) {
	out, err := s.provider.Refund(ctx, p.OrderID(), p.Money())
	if err != nil {
		return nil, err
	}
	return s.decide(p, func() ([]domain.Recorded, error) { return p.Refund(out, reason, s.now()) })
}

func (s *Service) ForOrder(ctx context.Context, orderID uuid.UUID) (page.Page[paymentsapi.Payment], error) {
	p, err := s.view(ctx, orderID)
	if errors.Is(err, ErrNotFound) {
		return page.Page[paymentsapi.Payment]{Items: []paymentsapi.Payment{}}, nil
	}
	if err != nil {
		return page.Page[paymentsapi.Payment]{}, err
	}
	return page.Page[paymentsapi.Payment]{Items: []paymentsapi.Payment{p}}, nil
}

// show returns p as other modules see it. The history is the one p holds
// when it holds every event (no snapshot was used to load it), which saves
// reading the stream again.
func (s *Service) show(ctx context.Context, p *domain.Payment) (paymentsapi.Payment, error) {
	if history, complete := p.History(); complete {
		return p.View(history)
	}
	return s.view(ctx, p.OrderID())
}

// view returns the order's payment with its history, or ErrNotFound when
// it has none to show.
func (s *Service) view(ctx context.Context, orderID uuid.UUID) (paymentsapi.Payment, error) {
	p, history, err := s.payments.History(ctx, orderID)
	if err != nil {
		return paymentsapi.Payment{}, err
	}
	if !p.Visible() {
		return paymentsapi.Payment{}, ErrNotFound
	}
	return p.View(history)
}

// recordTimeout bounds storing what the provider did.
const recordTimeout = 10 * time.Second

// record saves what a provider call decided. Money has moved by then, so it
// is saved even if the caller has stopped waiting: otherwise the next call
// would have to find out from the provider what happened.
func (s *Service) record(ctx context.Context, p *domain.Payment, announce []bus.Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	return s.payments.Save(ctx, p, announce...)
}

// decide runs a domain decision and returns the integration events that
// announce what it recorded.
func (s *Service) decide(p *domain.Payment, decision func() ([]domain.Recorded, error)) ([]bus.Event, error) {
	recorded, err := decision()
	if err != nil {
		return nil, err
	}
	var announce []bus.Event
	for _, r := range recorded {
		e, err := Announcement(p, r.Event)
		if err != nil {
			return nil, err
		}
		if e != nil {
			announce = append(announce, e)
		}
	}
	return announce, nil
}

// Announcement maps a payment's internal event to the integration event
// other modules hear, or nil when it is not announced: the steps before the
// outcome, and a void, which only follows the caller's own cancellation.
// Every event type must have a case; a test walks them all.
func Announcement(p *domain.Payment, e domain.Event) (bus.Event, error) {
	money := p.Money()
	switch e := e.(type) {
	case domain.Initiated, domain.Authorized, domain.Voided, domain.Cancelled:
		return nil, nil
	case domain.Captured:
		return paymentsapi.PaymentCapturedV1{PaymentID: p.ID(), OrderID: p.OrderID(), CustomerID: p.CustomerID(),
			Amount: e.Amount, Currency: money.Currency}, nil
	case domain.Failed:
		return paymentsapi.PaymentFailedV1{PaymentID: p.ID(), OrderID: p.OrderID(), CustomerID: p.CustomerID(),
			Reason: e.Reason}, nil
	case domain.Refunded:
		return paymentsapi.PaymentRefundedV1{PaymentID: p.ID(), OrderID: p.OrderID(), CustomerID: p.CustomerID(),
			Amount: e.Amount, Currency: money.Currency, Reason: e.Reason}, nil
	default:
		return nil, fmt.Errorf("payments: no announcement mapping for %T", e)
	}
}

// retry runs op again while it loses races, up to maxAttempts times.
func (s *Service) retry(op func() error) error {
	for range maxAttempts {
		if err := op(); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return paymentsapi.ErrInProgress
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
