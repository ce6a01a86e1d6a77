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

-- ensure_event_partitions(p_from, p_days)
--   Creates the daily partitions events_pYYYYMMDD covering
--   [day 00:00 UTC, day+1 00:00 UTC) for day in p_from .. p_from + p_days - 1,
--   skipping those that exist. Returns how many were created.
--
--   Rows of that day already sitting in events_default are moved into the
--   new partition (otherwise attaching it would fail). The new table is built
--   on its own and then attached, so the parent is never locked ACCESS
--   EXCLUSIVE and concurrent inserts into other days keep going.
create function ensure_event_partitions(p_from date, p_days int)
returns int
language plpgsql
set search_path from current
as $$
declare
    v_day     date;
    v_lo      timestamptz;
    v_hi      timestamptz;
    v_name    text;
    v_created int := 0;
begin
    if p_from is null or p_days is null or p_days < 0 then
        raise exception 'ensure_event_partitions: bad arguments (%, %)', p_from, p_days;
    end if;

    -- One creator at a time (several server instances may call this).
    perform pg_advisory_xact_lock(hashtext('event-tracker:event-partitions'));

    for i in 0 .. p_days - 1 loop
        v_day  := p_from + i;
        v_name := 'events_p' || to_char(v_day, 'YYYYMMDD');
        continue when to_regclass(quote_ident(v_name)) is not null;

        v_lo := v_day::timestamp at time zone 'UTC';
        v_hi := (v_day + 1)::timestamp at time zone 'UTC';

        execute format(
            'create table %I (like events including defaults including constraints including storage)',
            v_name);
        -- Lets ATTACH skip scanning the new table; dropped once attached.
        execute format(
            'alter table %I add constraint %I check (server_time >= %L and server_time < %L)',
            v_name, v_name || '_bounds', v_lo, v_hi);

        -- Keep inserts out of the default partition while its rows for this
        -- day move (ATTACH takes this lock anyway).
        lock table events_default in access exclusive mode;
        execute format(
            'with moved as (delete from events_default where server_time >= %L and server_time < %L returning *)
             insert into %I select * from moved',
            v_lo, v_hi, v_name);

        execute format(
            'alter table events attach partition %I for values from (%L) to (%L)',
            v_name, v_lo, v_hi);
        execute format('alter table %I drop constraint %I', v_name, v_name || '_bounds');

        v_created := v_created + 1;
    end loop;
    return v_created;
end;
$$;

-- drop_event_partitions_before(p_before)
--   Drops the daily partitions events_pYYYYMMDD whose whole day lies before
--   p_before (that is, day < p_before). events_default is never touched.
--   Returns how many were dropped.
create function drop_event_partitions_before(p_before date)
returns int
language plpgsql
set search_path from current
as $$
declare
    r         record;
    v_dropped int := 0;
begin
    if p_before is null then
        raise exception 'drop_event_partitions_before: p_before is null';
    end if;

    perform pg_advisory_xact_lock(hashtext('event-tracker:event-partitions'));

    for r in
        select c.oid::regclass as part, c.relname
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'events'::regclass
          and c.relname ~ '^events_p[0-9]{8}$'
        order by c.relname
    loop
        if to_date(substr(r.relname, 9), 'YYYYMMDD') < p_before then
            execute format('drop table %s', r.part);
            v_dropped := v_dropped + 1;
        end if;
    end loop;
    return v_dropped;
end;
$$;

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

-- Yesterday through six days ahead (UTC).
select ensure_event_partitions((now() at time zone 'UTC')::date - 1, 8);
