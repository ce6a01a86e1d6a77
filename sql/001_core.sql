-- 001_core: raw events (partitioned by day), per-minute aggregates, flush ledger.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here.
--
-- All day boundaries are UTC midnights, whatever the session time zone.

-- ---------------------------------------------------------------------------
-- events: one row per tracked event, range-partitioned by server_time
-- ---------------------------------------------------------------------------
create table events (
    id           uuid        not null,
    event_type   text        not null,
    user_id      bigint,
    session_id   text        not null,
    component_id bigint      not null,
    element_id   text,
    post_id      bigint,
    keyword      text,
    metadata     jsonb       not null default '{}',
    client_time  timestamptz,
    server_time  timestamptz not null,
    stream_id    text,
    primary key (id, server_time)
) partition by range (server_time);

-- Catches rows outside every daily partition (late or far-future events).
create table events_default partition of events default;

-- Defined on the parent: every partition gets them.
create index events_type_time_idx on events (event_type, server_time);
create index events_post_time_idx on events (post_id, server_time) where post_id is not null;
create index events_user_time_idx on events (user_id, server_time) where user_id is not null;

-- ---------------------------------------------------------------------------
-- event_stats: per-minute counters (bucket = minute start, UTC)
-- ---------------------------------------------------------------------------
create table event_stats (
    bucket       timestamptz not null,
    event_type   text        not null,
    -- 0 (component, post) and '' (keyword) mean "any": each row counts one query shape of
    -- the statistics API, so a series is read by key, not summed over posts or keywords.
    component_id bigint      not null,
    post_id      bigint      not null,
    keyword      text        not null,
    count        bigint      not null,
    constraint event_stats_key primary key (event_type, component_id, post_id, keyword, bucket)
);

create index event_stats_bucket_idx on event_stats (bucket);

-- ---------------------------------------------------------------------------
-- flush_ledger: one row per applied flush batch (idempotent re-delivery)
-- ---------------------------------------------------------------------------
create table flush_ledger (
    flush_id   text        primary key,
    kind       text        not null,
    rows       bigint      not null default 0,
    applied_at timestamptz not null default now()
);

