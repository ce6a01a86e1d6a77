-- 010_event_explorer_indexes: GET /api/events lists events newest first by
-- (server_time, id), filtered or not.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here. Every statement can run again.
--
-- Measured on 1,000,000 events over 4 days (EXPLAIN ANALYZE of the reader's prepared
-- statements, generic plans, a page of 50): filters by event type, user and post walk
-- their (x, server_time) indexes backwards already (2-18 ms), but a listing without
-- filters read every partition (3.7 s) and so did one by session (0.5 s). With these
-- two indexes they take 16 ms and 2 ms. Component and keyword filters ride on the first
-- one, newest rows first, filtered (159 ms and 87 ms where one row in 1,000 or 3,000
-- matches); neither got an index of its own, since each index adds to every flush's COPY.
create index if not exists events_time_id_idx on events (server_time, id);
create index if not exists events_session_time_idx on events (session_id, server_time);
