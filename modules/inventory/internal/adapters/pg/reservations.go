package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/modules/inventory/internal/domain"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
)

// ErrNoReservation means the order has no reservation.
var ErrNoReservation = errors.New("inventory: no reservation")

// The checkout waits on these methods, and every order of a popular product
// waits on its stock row, so they are built for round trips: each sends
// its reads and its change in one batch, and the stock rows stay locked
// from that batch to the commit only. The change therefore cannot wait for
// the domain's decision: its statement applies the domain's rule in SQL
// (holding units that fit, moving a reservation in a step's start state by
// the step's effect), and writes the events of what it changed. The domain
// then decides on the rows as they were locked, before the statement, and
// the transaction commits only if it decided exactly what the statement
// did (agree); an error from either rolls everything back. Every
// transaction locks stock rows in product ID order, whatever the order of
// the lines, so two of them never wait for each other in a cycle.

// Reserve stores the new reservation res in one transaction: BEGIN, one
// batch, COMMIT. The batch takes the order's lock (lockOrderSQL), reads the
// order's past, locks the stock rows of res's products and places res
// (placeSQL). place then decides with the order's existing reservation
// (nil if none) and the locked items; when it reports true, it must have
// held every line as the statement did.
//
// Reading the order's past after its lock means that a concurrent Reserve
// of the same order has committed by then: READ COMMITTED shows its rows
// to the later statements, and the repeat is seen as one.
func (r *Stock) Reserve(ctx context.Context, res *domain.Reservation, place func(existing *domain.Reservation, items domain.Items) (bool, error)) error {
	ids := res.ProductIDs()
	events, err := announce(ctx, ids)
	if err != nil {
		return err
	}
	lines := res.Lines()
	qs := make([]int64, len(lines))
	for i, l := range lines {
		qs[i] = l.Quantity
	}
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		var (
			released       bool
			existing       *domain.Reservation
			items, changed domain.Items
			b              pgx.Batch
		)
		b.Queue(lockOrderSQL, res.OrderID())
		b.Queue(releasedSQL, res.OrderID()).QueryRow(func(row pgx.Row) error { return row.Scan(&released) })
		b.Queue(reservationSQL, res.OrderID()).Query(func(rows pgx.Rows) (err error) {
			existing, err = scanReservation(res.OrderID(), rows)
			return err
		})
		b.Queue(lockItemsSQL, ids).Query(scanItems(&items))
		b.Queue(placeSQL, append(events.args(), res.OrderID(), ids, qs, domain.StateReserved.String())...).Query(scanItems(&changed))
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		if released {
			return inventoryapi.ErrReservationState.WithMessage("the order was released before this reservation arrived")
		}
		placed, err := place(existing, items)
		if err != nil {
			return err
		}
		return agree(placed, items, changed)
	})
}

// ReleaseUnreserved records that an order without a reservation was
// released, so a Reserve arriving later is refused. It returns ErrReserved
// if a reservation appeared meanwhile: the caller then releases it
// normally.
func (r *Stock) ReleaseUnreserved(ctx context.Context, orderID uuid.UUID) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		var reserved bool
		var b pgx.Batch
		b.Queue(lockOrderSQL, orderID)
		b.Queue(`SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = $1)`, orderID).QueryRow(func(row pgx.Row) error {
			return row.Scan(&reserved)
		})
		b.Queue(`INSERT INTO released_orders (order_id) SELECT $1
			WHERE NOT EXISTS (SELECT 1 FROM reservations WHERE order_id = $1) ON CONFLICT DO NOTHING`, orderID)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		if reserved {
			return ErrReserved
		}
		return nil
	})
}

// ErrReserved means a reservation exists after all.
var ErrReserved = errors.New("inventory: the order holds a reservation")

// Transition moves the order's reservation by step in one transaction:
// BEGIN, the lock of the reservation's rows, one batch, COMMIT. The batch
// locks the stock rows of its products and moves it (moveSQL); the
// domain's Reservation.Move then decides on both as locked. It returns
// ErrNoReservation if the order has none.
func (r *Stock) Transition(ctx context.Context, orderID uuid.UUID, step domain.Step) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, reservationSQL+` FOR UPDATE`, orderID)
		if err != nil {
			return err
		}
		res, err := scanReservation(orderID, rows)
		if err != nil {
			return err
		}
		if res == nil {
			return ErrNoReservation
		}
		ids := res.ProductIDs()
		events, err := announce(ctx, ids)
		if err != nil {
			return err
		}
		var items, changed domain.Items
		var b pgx.Batch
		b.Queue(lockItemsSQL, ids).Query(scanItems(&items))
		effect := step.Effect()
		b.Queue(moveSQL, append(events.args(), orderID, step.From().String(), step.To().String(), effect.OnHand, effect.Reserved)...).
			Query(scanItems(&changed))
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return refused(err)
		}
		moved, err := res.Move(step, items)
		if err != nil {
			return err
		}
		return agree(moved, items, changed)
	})
}

// lockOrderSQL serialises Reserve and ReleaseUnreserved of one order (a
// transaction-scoped advisory lock), so that neither misses what the other
// wrote.
const lockOrderSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`

const releasedSQL = `SELECT EXISTS (SELECT 1 FROM released_orders WHERE order_id = $1)`

const reservationSQL = `SELECT product_id, quantity, state FROM reservations WHERE order_id = $1 ORDER BY product_id`

// lockItemsSQL locks the stock rows of the products $1 in product ID order
// and returns them as they are once locked.
const lockItemsSQL = `SELECT product_id, on_hand, reserved FROM stock
	WHERE product_id = ANY($1) ORDER BY product_id FOR UPDATE`

// placeSQL holds the lines ($7 products, $8 quantities) of order $6 if the
// order has no reservation and was not released, and writes its
// reservation rows in state $9 and the events of the stock it changed. It
// holds a line where domain.Item.Reserve would: where the quantity is at
// most what is available. It returns the changed stock rows.
const placeSQL = `WITH new_lines AS (
	SELECT l.product_id, l.quantity FROM unnest($7::uuid[], $8::bigint[]) AS l(product_id, quantity)
	WHERE NOT EXISTS (SELECT 1 FROM reservations WHERE order_id = $6)
		AND NOT EXISTS (SELECT 1 FROM released_orders WHERE order_id = $6)
), changed AS (
	UPDATE stock SET reserved = stock.reserved + l.quantity, updated_at = now()
	FROM new_lines l
	WHERE stock.product_id = l.product_id AND stock.on_hand - stock.reserved >= l.quantity
	RETURNING stock.product_id, stock.on_hand, stock.reserved
), placed AS (
	INSERT INTO reservations (order_id, product_id, quantity, state)
	SELECT $6, l.product_id, l.quantity, $9 FROM new_lines l JOIN changed USING (product_id)
), ` + announcedSQL + `
SELECT product_id, on_hand, reserved FROM changed`

// moveSQL moves the reservation of order $6 from state $7 to $8, if it is
// in $7, changes the stock of each line by the step's effect ($9 on hand
// and $10 reserved per unit), and writes the events of the stock it
// changed. The stock table's CHECKs refuse a change that domain.Item.apply
// would refuse. It returns the changed stock rows.
const moveSQL = `WITH moved AS (
	UPDATE reservations SET state = $8, updated_at = now()
	WHERE order_id = $6 AND state = $7
	RETURNING product_id, quantity
), changed AS (
	UPDATE stock SET on_hand = stock.on_hand + $9 * m.quantity, reserved = stock.reserved + $10 * m.quantity, updated_at = now()
	FROM moved m
	WHERE stock.product_id = m.product_id
	RETURNING stock.product_id, stock.on_hand, stock.reserved
), ` + announcedSQL + `
SELECT product_id, on_hand, reserved FROM changed`

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

// agree checks that a statement changed the stock rows (changed) exactly
// as the domain changed items, or, when the domain changed nothing, that
// it changed nothing either. The statement repeats the domain's rules to
// spare a round trip; a difference between the two is a bug, never
// something to commit.
func agree(domainChanged bool, items, changed domain.Items) error {
	want := len(items)
	if !domainChanged {
		want = 0
	}
	if len(changed) != want {
		return fmt.Errorf("%w: the statement changed %d stock rows, the domain %d", domain.ErrInconsistent, len(changed), want)
	}
	for id, got := range changed {
		if it, ok := items[id]; !ok || it.Snapshot() != got.Snapshot() {
			return fmt.Errorf("%w: the statement and the domain disagree on the stock of product %s", domain.ErrInconsistent, id)
		}
	}
	return nil
}

// refused reads the stock table refusing a change (a CHECK violation) as
// what it means: stock and reservations disagree.
func refused(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23514" { // check_violation
		return fmt.Errorf("%w: %s", domain.ErrInconsistent, pgErr.Message)
	}
	return err
}
