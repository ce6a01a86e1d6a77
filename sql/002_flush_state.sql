-- 002_flush_state: what the flusher needs to make replays harmless, and all-time totals.

-- Per Redis data set ("et:stream@<id of the data set>"), the newest stream entry whose
-- events are in `events`. The flusher copies entries in stream order and moves this mark
-- in the same transaction, so after a crash it skips every entry at or below it instead
-- of inserting it twice. Stream ids of two Redis data sets are never compared.
create table stream_watermark (
    stream    text   primary key,
    last_ms   bigint not null,
    last_seq  bigint not null
);

-- All-time counts for the query shapes of GET /api/statistics. 0 (component, post) and ''
-- (keyword) mean "any": the row is the sum over all of them, so every count is one
-- primary-key lookup.
create table event_totals (
    event_type   text   not null,
    component_id bigint not null,
    post_id      bigint not null,
    keyword      text   not null,
    count        bigint not null,
    primary key (event_type, component_id, post_id, keyword)
);

-- Which transaction applied a flush: a reader that saw PostgreSQL at one instant can tell
-- whether a snapshot it later finds in Redis was already part of what it saw.
alter table flush_ledger add column applied_xid xid8 not null default pg_current_xact_id();

-- Backlog entries PostgreSQL refused (should never happen: ingestion validates). Kept,
-- with the reason, instead of blocking the flusher or being dropped.
create table events_rejected (
    stream_id   text        primary key,
    record      text        not null,
    error       text        not null,
    rejected_at timestamptz not null default now()
);
