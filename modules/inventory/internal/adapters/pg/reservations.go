package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/bus"
)

// ErrNoReservation means the order has no reservation.
var ErrNoReservation = errors.New("inventory: no reservation")

// Reserve stores the new reservation res in one transaction. It locks the
// stock rows of res's products, then reads the order's existing reservation
// (nil if none) and lets place decide with both; when place reports true,
// res and the items are stored with one stock-changed event per item.
//
// Every transaction here locks stock rows in product ID order, so two of
// them never wait for each other in a cycle (no deadlock), and reading the
// existing reservation after the locks means a concurrent Reserve of the
// same order that shares a product has committed by then: READ COMMITTED
// shows its rows to this later statement, and the repeat is seen as one.
func (r *Stock) Reserve(ctx context.Context, res *domain.Reservation, place func(existing *domain.Reservation, items domain.Items) (bool, error)) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		released, err := lockOrder(ctx, tx, res.OrderID())
		if err != nil {
			return err
		}
		if released {
			return inventoryapi.ErrReservationState.WithMessage("the order was released before this reservation arrived")
		}
		ids := res.ProductIDs()
		items, err := lockItems(ctx, tx, ids)
		if err != nil {
			return err
		}
		existing, err := getReservation(ctx, tx, res.OrderID(), false)
		if err != nil && !errors.Is(err, ErrNoReservation) {
			return err
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
		if _, err := tx.Exec(ctx, `INSERT INTO reservations (order_id, product_id, quantity, state)
			SELECT $1, l.product_id, l.quantity, $4 FROM unnest($2::uuid[], $3::bigint[]) AS l(product_id, quantity)`,
			res.OrderID(), ids, qs, res.State().String()); err != nil {
			return err
		}
		return r.save(ctx, tx, ids, items)
	})
}

// ReleaseUnreserved records that an order without a reservation was
// released, so a Reserve arriving later is refused. It returns
// ErrNoReservation's opposite, errReserved, if a reservation appeared
// meanwhile: the caller then releases it normally.
func (r *Stock) ReleaseUnreserved(ctx context.Context, orderID uuid.UUID) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockOrder(ctx, tx, orderID); err != nil {
			return err
		}
		var reserved bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = $1)`, orderID).Scan(&reserved); err != nil {
			return err
		}
		if reserved {
			return ErrReserved
		}
		_, err := tx.Exec(ctx, `INSERT INTO released_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING`, orderID)
		return err
	})
}

// ErrReserved means a reservation exists after all.
var ErrReserved = errors.New("inventory: the order holds a reservation")

// lockOrder serialises Reserve and ReleaseUnreserved of one order (a
// transaction-scoped advisory lock) and reports whether it was released.
func lockOrder(ctx context.Context, tx pgx.Tx, orderID uuid.UUID) (released bool, err error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, orderID); err != nil {
		return false, err
	}
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM released_orders WHERE order_id = $1)`, orderID).Scan(&released)
	return released, err
}

// Transition locks the order's reservation and then the stock rows of its
// products, and lets change move it. When change reports true, the new state
// and the items are stored with one stock-changed event per item. It returns
// ErrNoReservation if the order has none.
func (r *Stock) Transition(ctx context.Context, orderID uuid.UUID, change func(*domain.Reservation, domain.Items) (bool, error)) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		res, err := getReservation(ctx, tx, orderID, true)
		if err != nil {
			return err
		}
		ids := res.ProductIDs()
		items, err := lockItems(ctx, tx, ids)
		if err != nil {
			return err
		}
		changed, err := change(res, items)
		if err != nil || !changed {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE reservations SET state = $2, updated_at = now() WHERE order_id = $1`,
			orderID, res.State().String()); err != nil {
			return err
		}
		return r.save(ctx, tx, ids, items)
	})
}

// lockItems locks the stock rows of ids in product ID order and returns
// them; a product without a row is absent from the result.
func lockItems(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (domain.Items, error) {
	rows, err := tx.Query(ctx, `SELECT product_id, on_hand, reserved FROM stock
		WHERE product_id = ANY($1) ORDER BY product_id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	items := make(domain.Items, len(ids))
	var id uuid.UUID
	var onHand, reserved int64
	_, err = pgx.ForEachRow(rows, []any{&id, &onHand, &reserved}, func() error {
		items[id] = domain.Rehydrate(id, onHand, reserved)
		return nil
	})
	return items, err
}

// getReservation reads the order's reservation, locking its rows if lock is
// set, or returns ErrNoReservation.
func getReservation(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, lock bool) (*domain.Reservation, error) {
	sql := `SELECT product_id, quantity, state FROM reservations WHERE order_id = $1 ORDER BY product_id`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := tx.Query(ctx, sql, orderID)
	if err != nil {
		return nil, err
	}
	var lines []inventoryapi.Line
	var states []string
	var l inventoryapi.Line
	var state string
	if _, err := pgx.ForEachRow(rows, []any{&l.ProductID, &l.Quantity, &state}, func() error {
		lines = append(lines, l)
		states = append(states, state)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, ErrNoReservation
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

// save writes the items of ids and outboxes their stock-changed events, in
// product order.
func (r *Stock) save(ctx context.Context, tx pgx.Tx, ids []uuid.UUID, items domain.Items) error {
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
	if _, err := tx.Exec(ctx, `UPDATE stock SET on_hand = v.on_hand, reserved = v.reserved, updated_at = now()
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS v(product_id, on_hand, reserved)
		WHERE stock.product_id = v.product_id`, ids, onHand, reserved); err != nil {
		return err
	}
	return r.outbox.Add(ctx, tx, events...)
}
