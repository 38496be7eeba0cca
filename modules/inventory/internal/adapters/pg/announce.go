package pg

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/bus"
)

// announcement is the stock-changed events of some products, one each,
// made before the statement that changes their stock: the statement writes
// those of the rows it changed to the outbox with the levels it left
// (announcedSQL), in the transaction of the change, so the change and its
// events need no round trip between them. Each is the envelope bus.Outbox
// would write; only the payload's levels come from the statement.
type announcement struct {
	products, ids []uuid.UUID
	partitions    []int16
	envelopes     []string
}

// announce makes the events of products, with the correlation and trace
// of ctx.
func announce(ctx context.Context, products []uuid.UUID) (announcement, error) {
	a := announcement{products: products}
	now := time.Now()
	for _, id := range products {
		env, err := bus.NewEnvelope(ctx, inventoryapi.StockChangedV1{ProductID: id}, now)
		if err != nil {
			return announcement{}, err
		}
		body, err := json.Marshal(env)
		if err != nil {
			return announcement{}, fmt.Errorf("inventory: encode envelope: %w", err)
		}
		a.ids = append(a.ids, env.ID)
		a.partitions = append(a.partitions, int16(bus.Partition(env.AggregateID)))
		a.envelopes = append(a.envelopes, string(body))
	}
	return a, nil
}

// args are the parameters $1 to $5 of announcedSQL.
func (a announcement) args() []any {
	return []any{a.products, a.ids, inventoryapi.StockChanged, a.partitions, a.envelopes}
}

// announcedSQL is the part of a statement that writes the events of the
// stock rows its CTE "changed" (product_id, on_hand, reserved) returns,
// from an announcement's args ($1 to $5), as bus.Outbox does; the levels go
// into the payload's fields of inventoryapi.StockChangedV1.
const announcedSQL = `announced AS (
	INSERT INTO outbox (id, topic, partition, envelope)
	SELECT e.id, $3, e.partition, jsonb_set(jsonb_set(e.envelope::jsonb,
		'{payload,on_hand}', to_jsonb(c.on_hand)), '{payload,reserved}', to_jsonb(c.reserved))
	FROM changed c JOIN unnest($1::uuid[], $2::uuid[], $4::smallint[], $5::text[]) AS e(product_id, id, partition, envelope)
		USING (product_id)
	ORDER BY c.product_id
)`
