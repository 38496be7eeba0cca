package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
)

// DeadLetter is a message that kept failing, as stored by its consumer.
type DeadLetter struct {
	ID        uuid.UUID       `json:"id"`
	Module    string          `json:"module"`
	Handler   string          `json:"handler"`
	Topic     string          `json:"topic"`
	MessageID string          `json:"message_id"`
	Message   json.RawMessage `json:"message,omitempty"` // the envelope, when it is valid JSON
	Raw       string          `json:"raw,omitempty"`     // the body as text, when it is not
	Error     string          `json:"error"`
	Attempts  int             `json:"attempts"`
	FailedAt  time.Time       `json:"failed_at"`
}

// Errors of the dead-letter operations.
var (
	// ErrDeadLetterNotFound means no dead letter with this ID is held by the process that answered:
	// it was replayed already, or another process holds it. GET /api/v1/admin/dead-letters lists
	// them.
	ErrDeadLetterNotFound = apperr.New(apperr.KindNotFound, "bus.dead_letter_not_found", "no dead letter with this id")
	// ErrReplayFailed means the message's handler failed again when the dead letter was replayed; the
	// dead letter is kept with the new error. Fix the cause shown in the list of dead letters, then
	// replay again.
	ErrReplayFailed = apperr.New(apperr.KindConflict, "bus.replay_failed", "the handler failed again; the dead letter is kept")
)

// deadLetter stores msg for c after its last failed attempt and acknowledges
// it. If the store itself fails the message is nacked and comes back.
func (b *Bus) deadLetter(c Consumer, msg *message.Message, cause error, attempts int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), 10*time.Second)
	defer cancel()
	msgID, err := uuid.Parse(msg.UUID)
	if err != nil {
		msgID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(msg.UUID)) // a foreign producer's ID; keep it stable
	}
	_, err = c.DB.Pool.Exec(ctx, `
		INSERT INTO dead_letters (id, handler, topic, message_id, body, error, attempts)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (handler, message_id) DO UPDATE
		SET error = EXCLUDED.error, attempts = dead_letters.attempts + EXCLUDED.attempts, failed_at = now()`,
		uuid.New(), c.Name, c.Topic, msgID, msg.Payload, cause.Error(), attempts)
	if err != nil {
		b.log.Error("cannot store dead letter; message will be redelivered", zap.String("handler", c.Name), zap.Error(err))
		return err
	}
	b.metrics.handled.WithLabelValues(c.Name, "dead_lettered").Inc()
	b.metrics.deadLettered.WithLabelValues(c.Name).Inc()
	b.log.Error("message moved to the dead-letter store", zap.String("handler", c.Name),
		zap.String("message_id", msg.UUID), zap.Int("attempts", attempts), zap.Error(cause))
	return nil
}

// DeadLetters lists the dead letters of every local consumer, newest first.
func (b *Bus) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	var all []DeadLetter
	for _, db := range b.consumerDBs() {
		rows, err := db.Pool.Query(ctx, `
			SELECT id, handler, topic, message_id::text, body, error, attempts, failed_at
			FROM dead_letters ORDER BY failed_at DESC LIMIT $1`, limit)
		if err != nil {
			return nil, err
		}
		list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeadLetter, error) {
			var d DeadLetter
			var body []byte
			err := row.Scan(&d.ID, &d.Handler, &d.Topic, &d.MessageID, &body, &d.Error, &d.Attempts, &d.FailedAt)
			d.Module = db.Module
			if json.Valid(body) {
				d.Message = body
			} else {
				d.Raw = string(body)
			}
			return d, err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
	}
	sortNewestFirst(all)
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// Replay runs the dead letter's handler again. On success the effect and the
// removal of the dead letter commit together; on failure the dead letter is
// kept with the new error.
func (b *Bus) Replay(ctx context.Context, id uuid.UUID) error {
	for _, db := range b.consumerDBs() {
		var handler string
		var body []byte
		err := db.Pool.QueryRow(ctx, `SELECT handler, body FROM dead_letters WHERE id = $1`, id).Scan(&handler, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		c, ok := b.consumers[handler]
		if !ok {
			// The handler of the dead letter is not registered in the process that answered (it was
			// renamed, or its module runs elsewhere), so it cannot be replayed here. Replay it where that
			// handler runs.
			return apperr.New(apperr.KindConflict, "bus.handler_unknown",
				fmt.Sprintf("handler %q is not registered in this process", handler))
		}
		err = b.attempt(ctx, c, body, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM dead_letters WHERE id = $1`, id)
			return err
		})
		if err == nil {
			b.log.Info("dead letter replayed", zap.String("handler", handler), zap.String("id", id.String()))
			return nil
		}
		if _, uerr := db.Pool.Exec(ctx, `UPDATE dead_letters SET error = $2, attempts = attempts + 1, failed_at = now() WHERE id = $1`,
			id, err.Error()); uerr != nil {
			return errors.Join(err, uerr)
		}
		return ErrReplayFailed.Wrap(err)
	}
	return ErrDeadLetterNotFound
}
