package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/identity/internal/domain"
)

// The app owns the interface of what it stores; internal/adapters/pg
// implements it, and module.go wires the two.

// Users stores accounts.
type Users interface {
	// Add stores a new account with its registered event;
	// identityapi.ErrEmailTaken if its email is, even by a registration
	// racing it.
	Add(ctx context.Context, u *domain.User) error
	// Ensure makes sure an account with email (normalised) exists: if none
	// does, it stores the one create returns, with its registered event;
	// if one does, change may modify its role and password, stored without
	// an event (nothing other modules see has changed). It reports whether
	// it created the account, and runs create only then. Processes running
	// it at once for one email end with one account.
	Ensure(ctx context.Context, email string, create func() (*domain.User, error),
		change func(*domain.User) (bool, error)) (created bool, err error)
	// Update locks the account and lets change rename it; if it did, the
	// name is stored with the updated event. identityapi.ErrUserNotFound
	// if there is no such account.
	Update(ctx context.Context, id uuid.UUID, change func(*domain.User) (bool, error)) (*domain.User, error)
	// Get returns the account with id; identityapi.ErrUserNotFound if none.
	Get(ctx context.Context, id uuid.UUID) (*domain.User, error)
	// ByEmail returns the account with email (normalised);
	// identityapi.ErrUserNotFound if none.
	ByEmail(ctx context.Context, email string) (*domain.User, error)
}
