// Package eventport turns other modules' events into notifications.
package eventport

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/notifications/internal/adapters/pg"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Consumers returns the consumers of notifications, as its surface
// declares them.
func Consumers(db *pgxdb.DB) ([]bus.Consumer, error) {
	return notificationsapi.Surface.Bind(db, map[string]bus.HandlerFunc{
		"notifications.welcome":          handle(welcome),
		"notifications.order_confirmed":  handle(orderConfirmed),
		"notifications.order_cancelled":  handle(orderCancelled),
		"notifications.payment_refunded": handle(refunded),
	})
}

// compose turns one version-1 event into the message for its user.
type compose func(e bus.Envelope) (notificationsapi.Notification, error)

func handle(c compose) bus.HandlerFunc {
	return func(ctx context.Context, tx pgx.Tx, e bus.Envelope) error {
		if e.Version != 1 {
			return fmt.Errorf("%w: %s version %d is not known here", bus.ErrMalformed, e.Type, e.Version)
		}
		n, err := c(e)
		if err != nil {
			return err
		}
		if n.ID, err = uuid.NewV7(); err != nil {
			return err
		}
		n.CreatedAt = e.OccurredAt
		return pg.Record(ctx, tx, n, e.ID)
	}
}

func welcome(e bus.Envelope) (notificationsapi.Notification, error) {
	var ev identityapi.UserRegisteredV1
	if err := e.DecodePayload(&ev); err != nil {
		return notificationsapi.Notification{}, err
	}
	return notificationsapi.Notification{UserID: ev.UserID, Kind: notificationsapi.KindWelcome,
		Subject: "Welcome to the shop", Body: fmt.Sprintf("Hello %s, your account %s is ready.", ev.Name, ev.Email)}, nil
}

func orderConfirmed(e bus.Envelope) (notificationsapi.Notification, error) {
	var ev orderingapi.OrderConfirmedV1
	if err := e.DecodePayload(&ev); err != nil {
		return notificationsapi.Notification{}, err
	}
	return notificationsapi.Notification{UserID: ev.CustomerID, Kind: notificationsapi.KindOrderConfirmed,
		Subject: "Your order is confirmed",
		Body:    fmt.Sprintf("Order %s is confirmed: %s, paid.", ev.OrderID, money(ev.Total, ev.Currency))}, nil
}

func orderCancelled(e bus.Envelope) (notificationsapi.Notification, error) {
	var ev orderingapi.OrderCancelledV1
	if err := e.DecodePayload(&ev); err != nil {
		return notificationsapi.Notification{}, err
	}
	return notificationsapi.Notification{UserID: ev.CustomerID, Kind: notificationsapi.KindOrderCancelled,
		Subject: "Your order was cancelled",
		Body:    fmt.Sprintf("Order %s was cancelled: %s.", ev.OrderID, ev.FailureReason)}, nil
}

func refunded(e bus.Envelope) (notificationsapi.Notification, error) {
	var ev paymentsapi.PaymentRefundedV1
	if err := e.DecodePayload(&ev); err != nil {
		return notificationsapi.Notification{}, err
	}
	return notificationsapi.Notification{UserID: ev.CustomerID, Kind: notificationsapi.KindRefunded,
		Subject: "Your payment was refunded",
		Body:    fmt.Sprintf("%s for order %s is on its way back to you.", money(ev.Amount, ev.Currency), ev.OrderID)}, nil
}

// money writes minor units as an amount with two decimals, the exponent of
// the currencies the shop sells in.
func money(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, currency)
}
