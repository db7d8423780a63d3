ALTER TABLE complaints DROP COLUMN needs_callback;
