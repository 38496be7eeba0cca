-- Orders released before any reservation of theirs was seen. A saga that
-- gave up on a reserve call that timed out releases the order; if that call
-- still arrives afterwards (a slow network, a retry), it must not hold
-- units nobody will ever release.
CREATE TABLE released_orders (
    order_id    uuid        PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT now()
);
