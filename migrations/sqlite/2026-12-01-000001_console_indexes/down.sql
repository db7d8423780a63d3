DROP INDEX cases_queue_idx;
