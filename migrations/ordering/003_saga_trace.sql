-- The trace context (W3C traceparent) of the request that started a saga:
-- the worker runs each step as a child of it, so one checkout is one trace
-- from the click to the last event handler. Empty for sagas started before.
ALTER TABLE sagas ADD COLUMN traceparent text NOT NULL DEFAULT '';
