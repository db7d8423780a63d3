DROP INDEX messages_error_idx;
DROP INDEX messages_sent_idx;
DROP INDEX messages_received_idx;
