-- An append states the version its writer decided on; expect_version refuses
-- the transaction when the stream is elsewhere. Raised inside the
-- transaction, the refusal lets an append travel with its COMMIT in one
-- round trip: a check made by the client on the answer would come after the
-- commit. The primary key still stops two writers that pass it at once.
CREATE FUNCTION expect_version(stream uuid, expected int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    current int;
BEGIN
    SELECT coalesce(max(version), 0) INTO current FROM events WHERE stream_id = stream;
    IF current <> expected THEN
        RAISE EXCEPTION 'stream % is at version %, not %', stream, current, expected
            USING ERRCODE = 'ES409';
    END IF;
END
$$;
