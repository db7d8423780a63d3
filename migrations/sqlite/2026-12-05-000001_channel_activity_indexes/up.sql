-- The console's channels page (outbox::channel_activity) asks, per channel, for the newest
-- message received, the newest sent and the newest failed attempt. Without these it read every
-- message of the channel and direction (messages_gateway_key): with a million alerts queued,
-- ~150 ms per lookup on SQLite, parallel sequential scans on PostgreSQL. With them each is one
-- index entry (a backward seek; max() reads the index only).
-- Partial, so the million rows a job notice queues at once (outgoing, not sent yet) add no
-- entry to either: queuing alerts is the write this table must take fastest. The queries
-- repeat the conditions as written (`direction = 'in'` as a literal, not a bound parameter,
-- which neither SQLite nor a generic PostgreSQL plan could match to the index).
CREATE INDEX messages_received_idx ON messages (channel_id, created_at) WHERE direction = 'in';
CREATE INDEX messages_sent_idx ON messages (channel_id, sent_at) WHERE sent_at IS NOT NULL;
-- Few messages carry an error (a successful send clears it), so the index holds only those.
-- Its condition must appear as such in the query (`last_error IS NOT NULL`); direction is a
-- column, not part of the condition, because SQLite cannot match a bound parameter to one.
CREATE INDEX messages_error_idx ON messages (channel_id, direction, updated_at)
    WHERE last_error IS NOT NULL;
