package pg

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/inventory/internal/app"
	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/bus"
)

// The checkout waits on these methods, and every order of a popular product
// waits on its stock rows, so each is one pgxdb.DB.TxDecide of two round
// trips: BEGIN with every read under lock, then the domain's decision in Go
// on the rows read and one batch of its writes with COMMIT. Every transaction
// locks stock rows in product ID order, whatever the order of the lines, so
// two of them never wait for each other in a cycle.

// Reserve stores the new reservation res in one transaction. Its first
// batch takes the order's lock, reads whether the order was released and
// its existing reservation (nil if none), and locks the stock rows of
// res's products; place then decides with the reservation and the items.
// When place reports true, res and the items are stored with one
// stock-changed event per item.
//
// Reading the order's past after its lock means that a concurrent Reserve
// of the same order has committed by then: READ COMMITTED shows its rows
// to the later statements, and the repeat is seen as one.
func (r *Stock) Reserve(ctx context.Context, res *domain.Reservation, place func(existing *domain.Reservation, items domain.Items) (bool, error)) error {
	var (
		released bool
		existing *domain.Reservation
		items    domain.Items
	)
	ids := res.ProductIDs()
	return r.db.TxDecide(ctx, func(b *pgx.Batch) error {
		b.Queue(lockOrderSQL, res.OrderID())
		b.Queue(releasedSQL, res.OrderID()).QueryRow(func(row pgx.Row) error { return row.Scan(&released) })
		b.Queue(reservationSQL, res.OrderID()).Query(func(rows pgx.Rows) (err error) {
			existing, err = scanReservation(res.OrderID(), rows)
			return err
		})
		b.Queue(lockItemsSQL, ids).Query(scanItems(&items))
		return nil
	}, func(b *pgx.Batch) error {
		if released {
			return inventoryapi.ErrReservationState.WithMessage("the order was released before this reservation arrived")
		}
		changed, err := place(existing, items)
		if err != nil || !changed {
			return err
		}
		lines := res.Lines()
		qs := make([]int64, len(lines))
		for i, l := range lines {
			qs[i] = l.Quantity
		}
		b.Queue(`INSERT INTO reservations (order_id, product_id, quantity, state)
			SELECT $1, l.product_id, l.quantity, $4 FROM unnest($2::uuid[], $3::bigint[]) AS l(product_id, quantity)`,
			res.OrderID(), ids, qs, res.State().String())
		return r.queueSave(ctx, b, ids, items)
	})
}

// ReleaseUnreserved records that an order without a reservation was
// released, so a Reserve arriving later is refused. It returns app.ErrReserved
// if a reservation appeared meanwhile: the caller then releases it
// normally.
func (r *Stock) ReleaseUnreserved(ctx context.Context, orderID uuid.UUID) error {
	var reserved bool
	return r.db.TxDecide(ctx, func(b *pgx.Batch) error {
		b.Queue(lockOrderSQL, orderID)
		b.Queue(`SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = $1)`, orderID).QueryRow(func(row pgx.Row) error {
			return row.Scan(&reserved)
		})
		return nil
	}, func(b *pgx.Batch) error {
		if reserved {
			return app.ErrReserved
		}
		b.Queue(`INSERT INTO released_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING`, orderID)
		return nil
	})
}

// Transition locks the order's reservation and then the stock rows of its
// products, in one batch, and lets change move it. When change reports
// true, the new state and the items are stored with one stock-changed
// event per item. It returns app.ErrNoReservation if the order has none.
func (r *Stock) Transition(ctx context.Context, orderID uuid.UUID, change func(*domain.Reservation, domain.Items) (bool, error)) error {
	var (
		res   *domain.Reservation
		items domain.Items
	)
	return r.db.TxDecide(ctx, func(b *pgx.Batch) error {
		b.Queue(reservationSQL+` FOR UPDATE`, orderID).Query(func(rows pgx.Rows) (err error) {
			res, err = scanReservation(orderID, rows)
			return err
		})
		b.Queue(lockReservedItemsSQL, orderID).Query(scanItems(&items))
		return nil
	}, func(b *pgx.Batch) error {
		if res == nil {
			return app.ErrNoReservation
		}
		changed, err := change(res, items)
		if err != nil || !changed {
			return err
		}
		b.Queue(`UPDATE reservations SET state = $2, updated_at = now() WHERE order_id = $1`, orderID, res.State().String())
		return r.queueSave(ctx, b, res.ProductIDs(), items)
	})
}

// lockOrderSQL serialises Reserve and ReleaseUnreserved of one order (a
// transaction-scoped advisory lock), so that neither misses what the other
// wrote.
const lockOrderSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`

const releasedSQL = `SELECT EXISTS (SELECT 1 FROM released_orders WHERE order_id = $1)`

const reservationSQL = `SELECT product_id, quantity, state FROM reservations WHERE order_id = $1 ORDER BY product_id`

// lockItemsSQL locks the stock rows of the products $1 in product ID order;
// a product without a row is absent from the result.
const lockItemsSQL = `SELECT product_id, on_hand, reserved FROM stock
	WHERE product_id = ANY($1) ORDER BY product_id FOR UPDATE`

// lockReservedItemsSQL is lockItemsSQL for the products of order $1's
// reservation, read in the same batch.
const lockReservedItemsSQL = `SELECT product_id, on_hand, reserved FROM stock
	WHERE product_id IN (SELECT product_id FROM reservations WHERE order_id = $1) ORDER BY product_id FOR UPDATE`

// scanReservation reads the rows of reservationSQL: the order's
// reservation, nil if it has none.
func scanReservation(orderID uuid.UUID, rows pgx.Rows) (*domain.Reservation, error) {
	var lines []inventoryapi.Line
	var states []string
	var l inventoryapi.Line
	var state string
	if _, err := pgx.ForEachRow(rows, []any{&l.ProductID, &l.Quantity, &state}, func() error {
		lines = append(lines, l)
		states = append(states, state)
		return nil
	}); err != nil || len(lines) == 0 {
		return nil, err
	}
	for _, s := range states {
		if s != states[0] {
			return nil, fmt.Errorf("%w: the lines of order %s are in different states", domain.ErrInconsistent, orderID)
		}
	}
	st, err := domain.ParseState(states[0])
	if err != nil {
		return nil, err
	}
	return domain.RehydrateReservation(orderID, lines, st), nil
}

// scanItems returns a reader of stock rows (product_id, on_hand, reserved)
// into *items.
func scanItems(items *domain.Items) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		*items = domain.Items{}
		var id uuid.UUID
		var onHand, reserved int64
		_, err := pgx.ForEachRow(rows, []any{&id, &onHand, &reserved}, func() error {
			(*items)[id] = domain.Rehydrate(id, onHand, reserved)
			return nil
		})
		return err
	}
}

// queueSave adds to b the writes of the items of ids and their
// stock-changed events, in product order.
func (r *Stock) queueSave(ctx context.Context, b *pgx.Batch, ids []uuid.UUID, items domain.Items) error {
	onHand, reserved := make([]int64, len(ids)), make([]int64, len(ids))
	events := make([]bus.Event, len(ids))
	for i, id := range ids {
		it, ok := items[id]
		if !ok {
			return fmt.Errorf("%w: product %s has no stock record", domain.ErrInconsistent, id)
		}
		s := it.Snapshot()
		onHand[i], reserved[i], events[i] = s.OnHand, s.Reserved, it.Changed()
	}
	b.Queue(`UPDATE stock SET on_hand = v.on_hand, reserved = v.reserved, updated_at = now()
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS v(product_id, on_hand, reserved)
		WHERE stock.product_id = v.product_id`, ids, onHand, reserved)
	return r.outbox.Queue(ctx, b, events...)
}
