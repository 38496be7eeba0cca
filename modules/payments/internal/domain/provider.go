package domain

import (
	"context"

	"github.com/google/uuid"
)

// Provider is the payment provider in this module's language: the port of
// the anti-corruption layer. Implementations translate to and from a real
// provider's API, so nothing of its vocabulary leaks into the domain.
//
// Every call carries an idempotency key, the order ID: repeating a call with
// the same key has the effect of one call and returns the same answer. That
// is what lets the application retry after a timeout or a crash without
// charging twice.
//
// A refusal is a business outcome, not an error: it comes back as an Outcome
// with Declined set and a nil error. Errors are technical failures (timeout,
// provider down), after which the outcome is unknown.
type Provider interface {
	// Authorize holds amount on the card the token stands for.
	Authorize(ctx context.Context, key uuid.UUID, token string, amount Money) (Outcome, error)
	// Capture takes the authorized amount.
	Capture(ctx context.Context, key uuid.UUID, amount Money) (Outcome, error)
	// Refund returns a captured amount.
	Refund(ctx context.Context, key uuid.UUID, amount Money) (Outcome, error)
	// Void releases an authorization, or makes sure one made later under
	// the same key is declined. It is declined with DeclinedCaptured when
	// the money was already captured.
	Void(ctx context.Context, key uuid.UUID) (Outcome, error)
	// Ping checks that the provider answers at all (a real provider's
	// status endpoint). It tells a slow provider from a slow request: a
	// call that timed out while Ping answers was slowed by its own input
	// (its card, its issuer), not by the provider.
	Ping(ctx context.Context) error
}

// Money is an amount in minor units of a currency.
type Money struct {
	Amount   int64
	Currency string
}

// Outcome is the provider's answer to a call it handled.
type Outcome struct {
	Ref      string // the provider's reference of what it did
	Method   string // for an authorization: how the customer pays, e.g. MethodCard
	Declined string // why the provider refused; empty when it accepted
}

// Payment methods.
const MethodCard = "card"

// Reasons a provider declines.
const (
	DeclinedCard         = "card_declined"    // the issuer refused
	DeclinedInvalidToken = "invalid_token"    // the token names no card
	DeclinedVoided       = "voided"           // the key was voided before
	DeclinedCaptured     = "already_captured" // a void came after the capture
)
