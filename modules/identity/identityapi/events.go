package identityapi

import (
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/auth"
)

// Event types (topics) identity publishes.
const (
	UserRegistered = "identity.user_registered"
	UserUpdated    = "identity.user_updated"
)

// UserRegisteredV1 announces a new account (customers and the seeded admin).
type UserRegisteredV1 struct {
	UserID uuid.UUID `json:"user_id"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
	Role   auth.Role `json:"role"`
}

func (UserRegisteredV1) EventType() string     { return UserRegistered }
func (UserRegisteredV1) EventVersion() int     { return 1 }
func (e UserRegisteredV1) AggregateID() string { return e.UserID.String() }

// UserUpdatedV1 announces the new name or email of an account.
type UserUpdatedV1 struct {
	UserID uuid.UUID `json:"user_id"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
}

func (UserUpdatedV1) EventType() string     { return UserUpdated }
func (UserUpdatedV1) EventVersion() int     { return 1 }
func (e UserUpdatedV1) AggregateID() string { return e.UserID.String() }
