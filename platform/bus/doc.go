// Package bus moves events between modules with at-least-once delivery and
// exactly-once effects.
//
// The path of one event:
//
//  1. A module changes its state and calls Outbox.Add in the same pgx
//     transaction; the event is a row in the module's own outbox table.
//  2. The commit wakes the module's relay (pgxdb.DB.Tx calls it back; a relay
//     on another instance is woken by NOTIFY), which publishes pending rows
//     through the transport (Watermill GoChannel in one process, RabbitMQ
//     between processes) and deletes them only once the transport confirmed
//     delivery. With RabbitMQ the confirm is awaited within the relay's
//     publish timeout, on a connection apart from the consumers' (an alarm
//     blocks publishing connections). One relay per module schema is active
//     at a time (a Postgres advisory lock elects it), so several instances
//     of a module never publish the same row twice in the normal case; a
//     relay whose publish goes unconfirmed ends its session, which releases
//     the lock for another instance. Each event type is
//     spread over Partitions ordered lanes by aggregate: events of one
//     aggregate keep their order, different aggregates go in parallel.
//  3. Each consumer runs its handler in a transaction that first records the
//     message ID in the consumer's inbox; a redelivered message finds its ID
//     there and is skipped, so its effect happens once.
//  4. A handler that keeps failing is retried with exponential backoff and
//     jitter; after the last attempt the message is stored in the consumer's
//     dead_letters table, from which it can be listed and replayed.
//
// Every message carries one Envelope. Event types are versioned contracts:
// the topic is the event type, so all versions of one type share a topic and
// consumers upcast old versions.
package bus
