-- A fencing token per claim. lease_owner names a process, and one process
-- may claim the same saga twice (its lease ran out while a step ran, and its
-- own runner took the saga again): the owner alone cannot tell the stale
-- worker from the new one. Every claim increments lease_token, and every
-- write of a worker requires the token its claim returned.
ALTER TABLE sagas ADD COLUMN lease_token bigint NOT NULL DEFAULT 0;
