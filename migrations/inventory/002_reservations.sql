-- The units each order holds, one row per product of the order. All rows of
-- an order share one state, which moves reserved -> committed -> restocked,
-- or reserved -> released. The stock table's checks stay the last line of
-- defence against overselling, whatever this table says.
CREATE TABLE reservations (
    order_id   uuid        NOT NULL,
    product_id uuid        NOT NULL REFERENCES stock (product_id),
    quantity   bigint      NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
    state      text        NOT NULL CHECK (state IN ('reserved', 'committed', 'released', 'restocked')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, product_id)
);
