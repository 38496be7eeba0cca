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
		"notifications.welcome":          notify(welcome),
		"notifications.order_confirmed":  notify(orderConfirmed),
		"notifications.order_cancelled":  notify(orderCancelled),
		"notifications.payment_refunded": notify(refunded),
	})
}

// notify makes the handler that records, for each event of type T, the
// notification compose writes for its user.
func notify[T bus.Versioned](compose func(T) notificationsapi.Notification) bus.HandlerFunc {
	return bus.On(func(ctx context.Context, tx pgx.Tx, e bus.Envelope, ev T) error {
		n := compose(ev)
		var err error
		if n.ID, err = uuid.NewV7(); err != nil {
			return err
		}
		n.CreatedAt = e.OccurredAt
		return pg.Record(ctx, tx, n, e.ID)
	})
}

func welcome(ev identityapi.UserRegisteredV1) notificationsapi.Notification {
	return notificationsapi.Notification{UserID: ev.UserID, Kind: notificationsapi.KindWelcome,
		Subject: "Welcome to the shop", Body: fmt.Sprintf("Hello %s, your account %s is ready.", ev.Name, ev.Email)}
}

func orderConfirmed(ev orderingapi.OrderConfirmedV1) notificationsapi.Notification {
	return notificationsapi.Notification{UserID: ev.CustomerID, Kind: notificationsapi.KindOrderConfirmed,
		Subject: "Your order is confirmed",
		Body:    fmt.Sprintf("Order %s is confirmed: %s, paid.", ev.OrderID, money(ev.Total, ev.Currency))}
}

func orderCancelled(ev orderingapi.OrderCancelledV1) notificationsapi.Notification {
	return notificationsapi.Notification{UserID: ev.CustomerID, Kind: notificationsapi.KindOrderCancelled,
		Subject: "Your order was cancelled",
		Body:    fmt.Sprintf("Order %s was cancelled: %s.", ev.OrderID, ev.FailureReason)}
}

func refunded(ev paymentsapi.PaymentRefundedV1) notificationsapi.Notification {
	return notificationsapi.Notification{UserID: ev.CustomerID, Kind: notificationsapi.KindRefunded,
		Subject: "Your payment was refunded",
		Body:    fmt.Sprintf("%s for order %s is on its way back to you.", money(ev.Amount, ev.Currency), ev.OrderID)}
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
