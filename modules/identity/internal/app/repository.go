package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/identity/internal/domain"
)

// The app owns the interface of what it stores; internal/adapters/pg
// implements it, and the module's wiring joins the two.

// Users stores accounts. A new account commits together with its
// registered event, a changed one with its updated event.
type Users interface {
	// Add stores a new account; identityapi.ErrEmailTaken if its email
	// is, even by a registration racing it.
	Add(ctx context.Context, u *domain.User) error
	// Ensure makes sure an account with email (normalised) exists: if none
	// does, it stores the one create returns; if one does, change may
	// modify it (no event). It reports whether it created the account, and
	// runs create only then. Processes running it at once for one email
	// end with one account.
	Ensure(ctx context.Context, email string, create func() (*domain.User, error),
		change func(*domain.User) (bool, error)) (created bool, err error)
	// Update locks the account, lets change modify it and, if it did,
	// stores it; identityapi.ErrUserNotFound if there is none.
	Update(ctx context.Context, id uuid.UUID, change func(*domain.User) (bool, error)) (*domain.User, error)
	// Get returns the account with id; identityapi.ErrUserNotFound if none.
	Get(ctx context.Context, id uuid.UUID) (*domain.User, error)
	// ByEmail returns the account with email (normalised);
	// identityapi.ErrUserNotFound if none.
	ByEmail(ctx context.Context, email string) (*domain.User, error)
}
