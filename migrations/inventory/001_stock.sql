-- One row per product the catalog announced. The checks make negative or
-- oversold stock impossible whatever the code does.
CREATE TABLE stock (
    product_id uuid        PRIMARY KEY,
    on_hand    bigint      NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved   bigint      NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    updated_at timestamptz NOT NULL DEFAULT now()
);
