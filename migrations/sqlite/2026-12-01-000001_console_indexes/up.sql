-- The console queue orders open cases by the deadline that applies now (DUE_SQL in
-- src/web/console/cases.rs: keep the two expressions identical, or the index is not used).
-- With it the first page reads 25 index entries instead of sorting every open case.
CREATE INDEX cases_queue_idx ON cases (
    ((CASE WHEN state = 'received' THEN accept_due
           WHEN state IN ('accepted', 'investigating') THEN finish_due END) IS NULL),
    (CASE WHEN state = 'received' THEN accept_due
          WHEN state IN ('accepted', 'investigating') THEN finish_due END),
    priority,
    received_on,
    reference
);
