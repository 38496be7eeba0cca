-- The relay deletes inbox rows past their retention and dead letters past
-- theirs every hour; without these indexes each prune scans the whole table.
-- (A plain CREATE INDEX: the migrator runs each file in a transaction, and
-- the inbox is already bounded by its retention.)
CREATE INDEX inbox_processed_at ON inbox (processed_at);
CREATE INDEX dead_letters_failed_at ON dead_letters (failed_at);
