package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/platform/pgxdb"
)

// Views is the CQRS read model of orders and the customer replica.
type Views struct{ db *pgxdb.DB }

// NewViews returns the read model over the module's database.
func NewViews(db *pgxdb.DB) *Views { return &Views{db: db} }

// Apply folds an order state into the read model in tx. States may arrive
// in any order: the one with the highest revision wins. While a rebuild
// runs (its table exists), the state is folded into the rebuilt table too:
// that is how an event committed after the rebuild's snapshot of the
// history reaches it (see Rebuild).
func Apply(ctx context.Context, tx pgx.Tx, s orderingapi.OrderStateV1) error {
	args, err := viewArgs(s)
	if err != nil {
		return err
	}
	// One round trip: the upsert and whether a rebuild is running.
	batch := &pgx.Batch{}
	batch.Queue(upsertView("order_views"), args...)
	var rebuilding bool
	batch.Queue(`SELECT to_regclass($1) IS NOT NULL`, rebuildTable).QueryRow(func(row pgx.Row) error {
		return row.Scan(&rebuilding)
	})
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return err
	}
	if rebuilding {
		_, err = tx.Exec(ctx, upsertView(rebuildTable), args...)
	}
	return err
}

func viewArgs(s orderingapi.OrderStateV1) ([]any, error) {
	items, err := json.Marshal(s.Items)
	if err != nil {
		return nil, err
	}
	return []any{s.OrderID, s.CustomerID, s.Status, items, s.Total, s.Currency, s.FailureReason, s.Revision, s.CreatedAt, s.UpdatedAt}, nil
}

// upsertView is the statement folding a state into a view table.
func upsertView(table string) string {
	return `INSERT INTO ` + table + ` AS v (id, customer_id, status, items, total, currency, failure_reason, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, items = EXCLUDED.items, total = EXCLUDED.total,
			currency = EXCLUDED.currency, failure_reason = EXCLUDED.failure_reason, revision = EXCLUDED.revision,
			updated_at = EXCLUDED.updated_at
		WHERE v.revision < EXCLUDED.revision`
}

// ReplicateCustomer records a customer's name and email as of changedAt;
// an older change arriving late does not overwrite a newer one.
func ReplicateCustomer(ctx context.Context, tx pgx.Tx, c orderingapi.Customer, changedAt time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO customers (user_id, name, email, changed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, changed_at = EXCLUDED.changed_at
		WHERE customers.changed_at <= EXCLUDED.changed_at`, c.ID, c.Name, c.Email, changedAt)
	return err
}

// List returns up to limit+1 of a customer's orders, newest first (UUIDv7
// ids sort by creation), after the page key.
func (v *Views) List(ctx context.Context, q orderingapi.ListQuery) ([]orderingapi.OrderView, error) {
	after := q.Page.After
	if after == uuid.Nil {
		after = uuid.Max
	}
	rows, err := v.db.Pool.Query(ctx, `
		SELECT o.id, o.customer_id, o.status, o.items, o.total, o.currency, o.failure_reason, o.created_at, o.updated_at,
			c.user_id, c.name, c.email
		FROM order_views o LEFT JOIN customers c ON c.user_id = o.customer_id
		WHERE o.customer_id = $1 AND o.id < $2 AND ($3 = '' OR o.status = $3)
		ORDER BY o.id DESC LIMIT $4`, q.CustomerID, after, q.Status, q.Page.Limit+1)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (orderingapi.OrderView, error) {
		var ov orderingapi.OrderView
		var reason string
		var cid *uuid.UUID
		var name, email *string
		if err := row.Scan(&ov.ID, &ov.CustomerID, &ov.Status, &ov.Items, &ov.Total, &ov.Currency, &reason,
			&ov.CreatedAt, &ov.UpdatedAt, &cid, &name, &email); err != nil {
			return ov, err
		}
		if reason != "" {
			ov.FailureReason = &reason
		}
		if cid != nil {
			ov.Customer = &orderingapi.Customer{ID: *cid, Name: *name, Email: *email}
		}
		return ov, nil
	})
}

// rebuildTable is where Rebuild builds the new read model, and the sign
// for Apply that a rebuild is running.
const rebuildTable = "order_views_rebuild"

// rebuildBatch is how many history events Rebuild reads and writes at a
// time: memory stays bounded whatever the size of the history.
const rebuildBatch = 1000

// ErrRebuildRunning means another rebuild of the read model is running.
var ErrRebuildRunning = errors.New("ordering: a rebuild of the read model is already running")

// Rebuild replaces the read model with one replayed from ordering's event
// history, while the live projection keeps running, and returns the number
// of events replayed. No event is lost:
//
//  1. It creates an empty table like order_views. From then on Apply folds
//     every live event into both tables.
//  2. It reads the history in a repeatable-read snapshot taken after that,
//     in batches (keyset on seq), each folded into the new table in its own
//     short transaction: nothing is locked for the replay, and memory holds
//     one batch. An event committed after the snapshot was committed after
//     the table existed, so its live projection — later still, since the
//     history row and the outbox event commit together — reaches the new
//     table: the tail replays itself. Folding keeps the highest revision, so
//     the replay and the live projection may meet in any order.
//  3. It swaps the tables in one short transaction (a projection waits for
//     it, then writes to the new order_views) and gives the new table's
//     indexes the old names.
//
// A session advisory lock keeps two rebuilds apart. A rebuild that dies
// midway leaves its table behind, which Apply keeps feeding until the next
// rebuild drops it and starts again.
func (v *Views) Rebuild(ctx context.Context) (int, error) {
	lockConn, err := v.db.Pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer lockConn.Release()
	var locked bool
	if err := lockConn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('ordering.rebuild_read_model'))`).Scan(&locked); err != nil {
		return 0, err
	}
	if !locked {
		return 0, ErrRebuildRunning
	}
	defer func() {
		// A session lock outlives the statement: give it back, or drop the
		// connection so the server does.
		if _, err := lockConn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('ordering.rebuild_read_model'))`); err != nil {
			_ = lockConn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	if _, err := v.db.Pool.Exec(ctx, `DROP TABLE IF EXISTS `+rebuildTable); err != nil {
		return 0, err
	}
	if _, err := v.db.Pool.Exec(ctx, `CREATE TABLE `+rebuildTable+` (LIKE order_views INCLUDING ALL)`); err != nil {
		return 0, err
	}
	n, err := v.replay(ctx, lockConn)
	if err != nil {
		return n, err
	}
	return n, v.swap(ctx)
}

// replay folds the history, as of a snapshot taken now, into the rebuilt
// table, a batch at a time. The snapshot is read on conn; the writes go
// through the pool.
func (v *Views) replay(ctx context.Context, conn *pgxpool.Conn) (int, error) {
	snapshot, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, err
	}
	defer func() { _ = snapshot.Rollback(context.WithoutCancel(ctx)) }()
	n := 0
	var after int64 // the last seq replayed
	for {
		rows, err := snapshot.Query(ctx, `SELECT seq, state FROM order_history WHERE seq > $1 ORDER BY seq LIMIT $2`, after, rebuildBatch)
		if err != nil {
			return n, err
		}
		type event struct {
			seq   int64
			state orderingapi.OrderStateV1
		}
		events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (event, error) {
			var e event
			err := row.Scan(&e.seq, &e.state)
			return e, err
		})
		if err != nil || len(events) == 0 {
			return n, err
		}
		err = v.db.Tx(ctx, func(tx pgx.Tx) error {
			batch := &pgx.Batch{}
			for _, e := range events {
				args, err := viewArgs(e.state)
				if err != nil {
					return err
				}
				batch.Queue(upsertView(rebuildTable), args...)
			}
			return tx.SendBatch(ctx, batch).Close()
		})
		if err != nil {
			return n, err
		}
		n += len(events)
		after = events[len(events)-1].seq
	}
}

// swap puts the rebuilt table in the place of order_views, in one short
// transaction, and gives its indexes the old names (later migrations name
// them). The tables are locked in the order Apply writes them, so a
// projection in flight finishes first rather than deadlocking.
func (v *Views) swap(ctx context.Context) error {
	return v.db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE order_views, `+rebuildTable+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			return err
		}
		oldNames, err := indexNames(ctx, tx, "order_views")
		if err != nil {
			return err
		}
		newNames, err := indexNames(ctx, tx, rebuildTable)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DROP TABLE order_views`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+rebuildTable+` RENAME TO order_views`); err != nil {
			return err
		}
		for definition, name := range newNames {
			old, ok := oldNames[definition]
			if !ok {
				return fmt.Errorf("ordering: rebuilt index %s matches no index of order_views", name)
			}
			if _, err := tx.Exec(ctx, `ALTER INDEX `+pgx.Identifier{name}.Sanitize()+` RENAME TO `+pgx.Identifier{old}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
}

// indexNames maps the definition of each index of table (its method and
// columns, and whether it is unique) to its name.
func indexNames(ctx context.Context, tx pgx.Tx, table string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT c.relname, i.indisunique::text || ' ' || split_part(pg_get_indexdef(i.indexrelid), ' USING ', 2)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = to_regclass($1)`, table)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	var name, definition string
	_, err = pgx.ForEachRow(rows, []any{&name, &definition}, func() error {
		names[definition] = name
		return nil
	})
	return names, err
}
