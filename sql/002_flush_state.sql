-- 002_flush_state: what the flusher needs to make replays harmless, and all-time totals.

-- The newest Redis stream entry whose event is in `events`. The flusher copies entries in
-- stream order and moves this mark in the same transaction, so after a crash it skips
-- every entry at or below it instead of inserting it twice.
create table stream_watermark (
    stream    text   primary key,
    last_ms   bigint not null,
    last_seq  bigint not null
);
insert into stream_watermark values ('et:stream', 0, 0);

-- All-time counts for the query shapes of GET /api/statistics. A null post_id or keyword
-- means "any" (the sum over all of them), so every count is one indexed row.
create table event_totals (
    event_type   text   not null,
    component_id bigint not null,
    post_id      bigint,
    keyword      text,
    count        bigint not null,
    constraint event_totals_key unique nulls not distinct (event_type, component_id, post_id, keyword)
);

-- Backlog entries PostgreSQL refused (should never happen: ingestion validates). Kept,
-- with the reason, instead of blocking the flusher or being dropped.
create table events_rejected (
    stream_id   text        primary key,
    record      text        not null,
    error       text        not null,
    rejected_at timestamptz not null default now()
);
