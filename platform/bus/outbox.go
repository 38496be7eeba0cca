package bus

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/platform/pgxdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the migration set of the messaging tables (outbox, inbox,
// dead_letters) that every module schema holds.
func Migrations() pgxdb.MigrationSet {
	sub, _ := fs.Sub(migrations, "migrations")
	return pgxdb.MigrationSet{VersionTable: "bus_schema_version", FS: sub}
}

// Outbox appends events to a module's outbox inside the caller's transaction.
// Its zero value is ready to use.
type Outbox struct {
	// Now is the clock that stamps occurred_at; default time.Now.
	Now func() time.Time
}

// Add writes events to the outbox of the schema tx runs in. They are
// published only if tx commits, and in the order given.
func (o Outbox) Add(ctx context.Context, tx pgx.Tx, events ...Event) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	for _, e := range events {
		env, err := NewEnvelope(ctx, e, now())
		if err != nil {
			return err
		}
		body, err := json.Marshal(env)
		if err != nil {
			return fmt.Errorf("bus: encode envelope: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, envelope) VALUES ($1, $2, $3)`,
			env.ID, env.Type, body); err != nil {
			return fmt.Errorf("bus: write outbox: %w", err)
		}
	}
	return nil
}
