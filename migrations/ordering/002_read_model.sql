-- The CQRS read model behind GET /orders, fed by ordering's own events.
CREATE TABLE order_views (
    id             uuid        PRIMARY KEY,
    customer_id    uuid        NOT NULL,
    status         text        NOT NULL,
    items          jsonb       NOT NULL,
    total          bigint      NOT NULL,
    currency       char(3)     NOT NULL,
    failure_reason text        NOT NULL DEFAULT '',
    revision       int         NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX order_views_customer ON order_views (customer_id, id DESC);

-- A local replica of customers' names and emails, fed by the events of the
-- identity module, so listing orders never calls it.
CREATE TABLE customers (
    user_id    uuid        PRIMARY KEY,
    name       text        NOT NULL,
    email      text        NOT NULL,
    changed_at timestamptz NOT NULL
);
