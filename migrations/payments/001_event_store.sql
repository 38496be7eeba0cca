-- Payments are event-sourced: the events table is the source of truth and
-- everything else can be rebuilt from it.

-- One row per event of a payment stream, in order. The primary key is the
-- optimistic concurrency check: two writers appending at the same version
-- cannot both commit.
CREATE TABLE events (
    stream_id      uuid        NOT NULL,
    version        int         NOT NULL CHECK (version >= 1),
    type           text        NOT NULL,
    schema_version int         NOT NULL CHECK (schema_version >= 1), -- of the data; older ones are upcast on load
    data           jsonb       NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    occurred_at    timestamptz NOT NULL,
    PRIMARY KEY (stream_id, version)
);

-- Events are facts: once written they never change. The trigger catches an
-- UPDATE, DELETE or TRUNCATE written by mistake.
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only (% refused)', TG_OP;
END
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();

-- The latest snapshot of a stream: its state after `version` events, so a
-- load reads the snapshot and only the events after it. taken_at is the
-- time of the last event it covers. A snapshot is a cache: it may be
-- deleted at any time, and one of an unknown schema_version is ignored.
CREATE TABLE snapshots (
    stream_id      uuid        PRIMARY KEY,
    version        int         NOT NULL CHECK (version >= 1),
    schema_version int         NOT NULL CHECK (schema_version >= 1),
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL
);

-- Which stream holds an order's payment. It is inserted in the transaction
-- of the stream's first event, so an order has at most one payment however
-- many requests race. customer_id is NULL for an order cancelled before any
-- charge (its stream only records the cancellation).
CREATE TABLE payment_orders (
    order_id    uuid PRIMARY KEY,
    payment_id  uuid NOT NULL UNIQUE,
    customer_id uuid
);
