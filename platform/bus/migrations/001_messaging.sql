-- Messaging tables, created in every module's own schema (search_path).

-- Events written in the same transaction as the state change they announce.
-- A row is deleted once the transport confirmed delivery.
CREATE TABLE outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         uuid        NOT NULL,
    topic      text        NOT NULL,
    partition  smallint    NOT NULL, -- of the aggregate: its events keep their order
    envelope   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Messages a handler has processed, written in the handler's transaction.
CREATE TABLE inbox (
    handler      text        NOT NULL,
    message_id   uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, message_id)
);

-- Messages that kept failing after their retries, kept for inspection and replay.
CREATE TABLE dead_letters (
    id         uuid        PRIMARY KEY,
    handler    text        NOT NULL,
    topic      text        NOT NULL,
    message_id uuid        NOT NULL,
    body       bytea       NOT NULL,
    error      text        NOT NULL,
    attempts   int         NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (handler, message_id)
);
