// Package pg stores the notifications in the module's schema.
package pg

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/platform/page"
	"github.com/modmono/shop/platform/pgxdb"
)

// Notifications is the notification store; it implements notificationsapi.API.
type Notifications struct{ db *pgxdb.DB }

// New returns the store over the module's database.
func New(db *pgxdb.DB) *Notifications { return &Notifications{db: db} }

var _ notificationsapi.API = (*Notifications)(nil)

// Record stores n in tx, once per causing event.
func Record(ctx context.Context, tx pgx.Tx, n notificationsapi.Notification, causedBy uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO notifications (id, user_id, kind, subject, body, caused_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (caused_by) DO NOTHING`,
		n.ID, n.UserID, n.Kind, n.Subject, n.Body, causedBy, n.CreatedAt)
	return err
}

func (s *Notifications) List(ctx context.Context, userID uuid.UUID, req page.Request) (page.Page[notificationsapi.Notification], error) {
	if err := req.Validate(); err != nil {
		return page.Page[notificationsapi.Notification]{}, err
	}
	after := req.After
	if after == uuid.Nil {
		after = uuid.Max
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT id, user_id, kind, subject, body, created_at FROM notifications
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, userID, after, req.Limit+1)
	if err != nil {
		return page.Page[notificationsapi.Notification]{}, err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[notificationsapi.Notification])
	if err != nil {
		return page.Page[notificationsapi.Notification]{}, err
	}
	return page.Of(items, req.Limit, func(n notificationsapi.Notification) uuid.UUID { return n.ID }), nil
}
