-- The write model: orders and their lines, as placed and as they change.
CREATE TABLE orders (
    id             uuid        PRIMARY KEY, -- UUIDv7
    customer_id    uuid        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    total          bigint      NOT NULL CHECK (total >= 0),
    currency       char(3)     NOT NULL,
    failure_reason text        NOT NULL DEFAULT '',
    revision       int         NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE order_lines (
    order_id   uuid   NOT NULL REFERENCES orders (id),
    position   int    NOT NULL,
    product_id uuid   NOT NULL,
    name       text   NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    line_total bigint NOT NULL,
    PRIMARY KEY (order_id, position)
);

-- Idempotency keys are scoped to the customer; the hash tells a repeated
-- request from a different one reusing the key.
CREATE TABLE idempotency_keys (
    customer_id  uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    order_id     uuid        NOT NULL REFERENCES orders (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, key)
);

-- The saga of each order, persisted so any process can resume it after a
-- crash. A worker leases a due saga, runs its step (every step is
-- idempotent), and records the next one; the lease fences stale workers.
CREATE TABLE sagas (
    order_id        uuid        PRIMARY KEY REFERENCES orders (id),
    step            text        NOT NULL,
    reason          text        NOT NULL DEFAULT '', -- why it compensates
    payment_token   text        NOT NULL DEFAULT '', -- cleared when the saga ends
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    deadline        timestamptz NOT NULL,            -- of the forward steps
    lease_owner     text,
    lease_until     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sagas_due ON sagas (next_attempt_at) WHERE step <> 'done';

-- Every step outcome, for the saga timeline.
CREATE TABLE saga_log (
    seq      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id uuid        NOT NULL,
    step     text        NOT NULL,
    outcome  text        NOT NULL,
    detail   text        NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saga_log_order ON saga_log (order_id, seq);

-- Every event ordering published, so the read model can be rebuilt.
CREATE TABLE order_history (
    seq      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id uuid        NOT NULL,
    type     text        NOT NULL,
    state    jsonb       NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
