CREATE TABLE products (
    id          uuid        PRIMARY KEY, -- UUIDv7: ordering by id is ordering by creation
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    price       bigint      NOT NULL CHECK (price > 0),
    currency    char(3)     NOT NULL,
    revision    int         NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
