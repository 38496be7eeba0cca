CREATE TABLE outbox (id bigserial PRIMARY KEY, topic text NOT NULL);
