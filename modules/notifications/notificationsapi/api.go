// Package notificationsapi is the notifications module's public surface.
// Notifications react to other modules' events only (choreography): nothing
// calls them to send a message, they decide from what happened.
package notificationsapi

//go:generate go run ../../../internal/rpcgen

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/page"
)

// Kinds of notification.
const (
	KindWelcome        = "welcome"
	KindOrderConfirmed = "order_confirmed"
	KindOrderCancelled = "order_cancelled"
	KindRefunded       = "payment_refunded"
)

// Notification is a message recorded as delivered to a user.
type Notification struct {
	ID        uuid.UUID `json:"id"`
	UserID    uuid.UUID `json:"user_id"`
	Kind      string    `json:"kind"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// API is what notifications offers, in process or over HTTP.
type API interface {
	// List returns a user's notifications, newest first.
	//rpc:idempotent
	List(ctx context.Context, userID uuid.UUID, req page.Request) (page.Page[Notification], error)
}
