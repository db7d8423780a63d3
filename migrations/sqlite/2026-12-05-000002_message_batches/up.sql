-- Bulk messages with one text that left in one call to an Android gateway phone, several
-- numbers in it: the phone's id for that call, given before the call is made. Its reports
-- name the call and the number, which find the message; a retry after a crash or a timeout
-- goes under the same id, so the phone answers 409 instead of sending twice. Few messages
-- have one, so the index holds only those.
ALTER TABLE messages ADD COLUMN batch_id TEXT;
CREATE INDEX messages_batch_idx ON messages (batch_id) WHERE batch_id IS NOT NULL;
