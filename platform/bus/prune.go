package bus

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// pruneDeadLetters deletes dead letters older than the retention, at most
// once an hour, so a handler that keeps failing cannot fill the schema. It
// runs on the schema's active relay, once per module; what it deletes is
// counted (bus_dead_letters_pruned_total) and logged, since an operator
// may have meant to replay it.
func (r *relay) pruneDeadLetters(ctx context.Context) error {
	if time.Since(r.deadPruned) < time.Hour {
		return nil
	}
	r.deadPruned = time.Now()
	tag, err := r.db.Pool.Exec(ctx, `DELETE FROM dead_letters WHERE failed_at < now() - make_interval(secs => $1)`,
		r.deadRetention.Seconds())
	if err != nil {
		return err
	}
	if n := tag.RowsAffected(); n > 0 {
		r.metrics.deadPruned.WithLabelValues(r.db.Module).Add(float64(n))
		r.log.Warn("deleted dead letters older than the retention", zap.Int64("rows", n), zap.Duration("older_than", r.deadRetention))
	}
	return nil
}
