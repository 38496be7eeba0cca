// Package eventport is how ordering reacts to events: it projects its own
// events into the read model and replicates customers from identity's.
package eventport

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/ordering/internal/adapters/pg"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Consumers returns ordering's consumers, as its surface declares them.
func Consumers(db *pgxdb.DB) ([]bus.Consumer, error) {
	return orderingapi.Surface.Bind(db, map[string]bus.HandlerFunc{
		"ordering.project_placed":                project,
		"ordering.project_confirmed":             project,
		"ordering.project_cancelled":             project,
		"ordering.replicate_registered_customer": replicateRegistered,
		"ordering.replicate_updated_customer":    replicateUpdated,
	})
}

// project applies any ordering event to the read model: every one carries
// the whole order state, and the cancelled event, a superset of the other
// two, reads them all (it adds a field we do not need).
var project = bus.On(func(ctx context.Context, tx pgx.Tx, _ bus.Envelope, s orderingapi.OrderCancelledV1) error {
	return pg.Apply(ctx, tx, s.OrderStateV1)
})

var replicateRegistered = bus.On(func(ctx context.Context, tx pgx.Tx, e bus.Envelope, ev identityapi.UserRegisteredV1) error {
	return pg.ReplicateCustomer(ctx, tx, orderingapi.Customer{ID: ev.UserID, Name: ev.Name, Email: ev.Email}, e.OccurredAt)
})

var replicateUpdated = bus.On(func(ctx context.Context, tx pgx.Tx, e bus.Envelope, ev identityapi.UserUpdatedV1) error {
	return pg.ReplicateCustomer(ctx, tx, orderingapi.Customer{ID: ev.UserID, Name: ev.Name, Email: ev.Email}, e.OccurredAt)
})
