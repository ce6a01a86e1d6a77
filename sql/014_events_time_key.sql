-- 014_events_time_key: two B-trees fewer on `events`, the table every flush writes.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here.
--
-- - The primary key becomes (server_time, id), and the separate (server_time, id) index
--   of 010 goes. A key on (id, server_time) and an index on (server_time, id) enforce
--   and order the same pairs; the key in time order now serves the event explorer's
--   newest-first listing and its keyset pages. Nothing looks events up by id alone.
-- - (event_type, server_time) goes. There are eight event types and a few make most of
--   the traffic, so a listing filtered by type walks the key backwards and keeps every
--   few rows, as the component and keyword filters already do (010); the planner chose
--   that walk over this index already. A type with few rows in the range costs a walk
--   over the range (about 150 ms per million rows); a from/to window bounds it.
--   Statistics read event_stats and event_totals, never events.
--
-- Each index is paid for by every flushed row; bench/events_write_cost.sh measures what
-- each costs a COPY and bench/flush_schema.sh the flusher before and after (numbers in
-- docs/PERFORMANCE.md, "Flushing to PostgreSQL"). Event ids are UUIDv7, so the key grows
-- at the right-hand edge of the tree in either column order.
--
-- Rebuilding the key reads every stored event once, under an exclusive lock on `events`:
-- the flusher waits meanwhile (its backlog stays in Redis); ingestion does not.
alter table events drop constraint events_pkey;
alter table events add constraint events_pkey primary key (server_time, id);
drop index if exists events_time_id_idx;
drop index if exists events_type_time_idx;
