-- A step that fails again and again (a compensation retries until it
-- succeeds, for as long as a dependency is down) is one timeline entry
-- counting its attempts, not a row per attempt: saga_log stays bounded.
-- at is the first attempt, last_at the latest, detail the latest error.
ALTER TABLE saga_log
    ADD COLUMN repeats int NOT NULL DEFAULT 1,
    ADD COLUMN last_at timestamptz;
