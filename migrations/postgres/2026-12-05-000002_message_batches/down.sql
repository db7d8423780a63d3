DROP INDEX messages_batch_idx;
ALTER TABLE messages DROP COLUMN batch_id;
