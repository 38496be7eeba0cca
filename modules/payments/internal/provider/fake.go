// Package provider is the anti-corruption layer between payments and the
// payment provider: Fake, the development provider that understands the
// test tokens of SPEC §4, and Guard, which puts a timeout and a circuit
// breaker around any domain.Provider.
package provider

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/paymentsapi"
)

// Fake is an in-memory payment provider for development and tests. It is
// safe for concurrent use and idempotent per key, like a real provider:
// repeating a call returns the first answer and has no further effect.
//
// Tokens: tok_ok is authorized; tok_decline is declined (card_declined);
// tok_slow answers after SlowDelay, or gives up when its context ends; any
// other token is declined as invalid_token.
//
// Its ledger lives in memory and holds at most DefaultMaxKeys keys, the
// oldest forgotten first, so a long-running process does not grow without
// bound. A key it has not seen (forgotten, or the process restarted between
// an authorization and its capture) is treated as a real provider would
// treat a key it remembers: capture and refund are accepted.
type Fake struct {
	slowDelay time.Duration

	mu      sync.Mutex
	maxKeys int
	keys    map[uuid.UUID]*ledger
	order   *list.List // of uuid.UUID, oldest first
}

// DefaultMaxKeys is how many keys the fake remembers unless told otherwise:
// far more orders than a development session or a test suite makes, a few
// megabytes at most.
const DefaultMaxKeys = 50_000

// ledger is what the provider remembers of one key.
type ledger struct {
	captured, refunded, voided bool
	captures, refunds          int // effective ones, for tests
}

// NewFake returns a provider whose tok_slow answers after slowDelay. The
// module gives it twice the payment timeout, so a slow charge always times
// out.
func NewFake(slowDelay time.Duration) *Fake {
	return &Fake{slowDelay: slowDelay, maxKeys: DefaultMaxKeys, keys: map[uuid.UUID]*ledger{}, order: list.New()}
}

var _ domain.Provider = (*Fake)(nil)

// Authorize approves tok_ok and tok_slow (late), declines the rest.
func (f *Fake) Authorize(ctx context.Context, key uuid.UUID, token string, _ domain.Money) (domain.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return domain.Outcome{}, err
	}
	switch token {
	case paymentsapi.TokenOK:
	case paymentsapi.TokenSlow:
		t := time.NewTimer(f.slowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return domain.Outcome{}, ctx.Err()
		}
	case paymentsapi.TokenDecline:
		return domain.Outcome{Declined: domain.DeclinedCard}, nil
	default:
		return domain.Outcome{Declined: domain.DeclinedInvalidToken}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledger(key)
	if l.voided {
		return domain.Outcome{Declined: domain.DeclinedVoided}, nil
	}
	return domain.Outcome{Ref: "auth_" + key.String(), Method: domain.MethodCard}, nil
}

// Capture takes the money of an authorization that was not voided.
func (f *Fake) Capture(ctx context.Context, key uuid.UUID, _ domain.Money) (domain.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return domain.Outcome{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledger(key)
	if l.voided {
		return domain.Outcome{Declined: domain.DeclinedVoided}, nil
	}
	if !l.captured {
		l.captured = true
		l.captures++
	}
	return domain.Outcome{Ref: "cap_" + key.String()}, nil
}

// Refund returns captured money.
func (f *Fake) Refund(ctx context.Context, key uuid.UUID, _ domain.Money) (domain.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return domain.Outcome{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledger(key)
	if l.voided {
		return domain.Outcome{Declined: domain.DeclinedVoided}, nil
	}
	if !l.refunded {
		l.refunded = true
		l.refunds++
	}
	return domain.Outcome{Ref: "ref_" + key.String()}, nil
}

// Void calls off the key: a pending or later authorization is declined.
// It is declined once the money was captured.
func (f *Fake) Void(ctx context.Context, key uuid.UUID) (domain.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return domain.Outcome{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.ledger(key)
	if l.captured {
		return domain.Outcome{Declined: domain.DeclinedCaptured}, nil
	}
	l.voided = true
	return domain.Outcome{Ref: "void_" + key.String()}, nil
}

// Ping answers at once: the fake is always up. Its slowness is per token.
func (f *Fake) Ping(ctx context.Context) error { return ctx.Err() }

// SetMaxKeys sets how many keys the fake remembers (DefaultMaxKeys when
// not called); n < 1 counts as 1. Call it before use.
func (f *Fake) SetMaxKeys(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxKeys = max(n, 1)
}

// Keys counts the keys the fake remembers.
func (f *Fake) Keys() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys)
}

// Captures counts the captures that took money for key: at most 1.
func (f *Fake) Captures(key uuid.UUID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.keys[key]; ok {
		return l.captures
	}
	return 0
}

// Refunds counts the refunds that returned money for key: at most 1.
func (f *Fake) Refunds(key uuid.UUID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.keys[key]; ok {
		return l.refunds
	}
	return 0
}

// ledger returns key's record; f.mu must be held.
func (f *Fake) ledger(key uuid.UUID) *ledger {
	l, ok := f.keys[key]
	if !ok {
		for len(f.keys) >= f.maxKeys {
			oldest := f.order.Front()
			delete(f.keys, f.order.Remove(oldest).(uuid.UUID))
		}
		l = &ledger{}
		f.keys[key] = l
		f.order.PushBack(key)
	}
	return l
}
