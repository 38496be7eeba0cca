-- Messages delivered to users. Delivery is recording: there is no mail
-- server. The event that caused a message makes it unique, so a redelivered
-- event never sends twice.
CREATE TABLE notifications (
    id         uuid        PRIMARY KEY, -- UUIDv7
    user_id    uuid        NOT NULL,
    kind       text        NOT NULL,
    subject    text        NOT NULL,
    body       text        NOT NULL,
    caused_by  uuid        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
