-- A saga's change is fenced twice: by its claim's lease token, and by the
-- order's revision. fence_refused raises when a fenced statement changed no
-- row, so the refusal comes from inside the transaction and a change can
-- travel with its COMMIT in one round trip: a check the client made of the
-- rows affected would come after the commit.
CREATE FUNCTION fence_refused(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: fenced out, changed by a later claim', what
        USING ERRCODE = 'SG409';
END
$$;
