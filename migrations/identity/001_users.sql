CREATE TABLE users (
    id            uuid        PRIMARY KEY,                -- UUIDv7: ordering by id is ordering by creation
    email         text        NOT NULL UNIQUE,            -- normalised by the domain: trimmed, lower case
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('customer', 'admin')),
    password_hash text        NOT NULL,                   -- argon2id in PHC string format, never the password
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
