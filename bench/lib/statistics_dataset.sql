-- The statistics benchmark's data set, generated set-based (no HTTP) by bench/statistics.sh:
--   psql -v events=N -v posts=N -v users=N -v keywords=N -v components=N -v component_base=N \
--        -v days=N -f bench/lib/statistics_dataset.sql
--
-- * `events`: :events rows spread evenly over the last :days days (up to 10 minutes ago),
--   in time order with time-ordered (version 7 layout) ids, as the server writes them.
--   Types: PAGE_VIEW 40 %, CLICK 30 %, LIKE 15 %, SEARCH 10 %, SHARE 3 %, COMMENT 2 %.
--   Every type but SEARCH names a post among 1 .. :posts, skewed like real popularity
--   (post = 1 + floor(posts * r^3): the first post gets ~0.8 % of them, most posts a few);
--   SEARCH names a keyword among kw-1 .. kw-:keywords with the same skew. Components
--   :component_base + 1 .. + :components (skewed), users 1 .. :users (uniform).
-- * `event_stats` and `event_totals`: exactly what the flusher would have written for those
--   events -- per minute and all-time, the five query shapes of each event (type | comp |
--   post | keyword, with 0 / '' = any), added with ON CONFLICT to rows already there (the
--   "any" rows are shared with real traffic).
--
-- Marked so it can be removed (bench/statistics.sh --drop): every generated event has a
-- component in the range above and a sessionId starting with 'bench-stats-'; every
-- generated event_stats / event_totals row outside the "any" shapes has such a component.
-- Idempotent: the data set is written in one transaction together with its row in
-- bench_statistics_dataset, and skipped when that row is there.
\set ON_ERROR_STOP on

select ensure_event_partitions(current_date - 8, 10) as partitions_created;

create table if not exists bench_statistics_dataset (
    id              int primary key check (id = 1),
    events          bigint      not null,
    posts           bigint      not null,
    component_first bigint      not null,
    component_last  bigint      not null,
    session_prefix  text        not null,
    time_from       timestamptz not null,
    time_to         timestamptz not null,
    generated_at    timestamptz not null default now()
);

select exists (select 1 from bench_statistics_dataset) as have_dataset \gset
\if :have_dataset
\echo 'data set already generated:'
select events, posts, component_first, component_last, time_from, time_to, generated_at
from bench_statistics_dataset;
\else
begin;
-- One transaction: nothing is left half-written. Its commit need not wait for the WAL
-- flush (a crash right after it could lose it; the next run would generate it again).
set local synchronous_commit = off;
set local work_mem = '256MB';

insert into bench_statistics_dataset (id, events, posts, component_first, component_last, session_prefix, time_from, time_to)
values (1, :events, :posts, :component_base + 1, :component_base + :components, 'bench-stats-',
        date_trunc('minute', now()) - make_interval(days => :days) - interval '10 minutes',
        date_trunc('minute', now()) - interval '10 minutes');

\echo 'events ...'
\timing on
insert into events (id, event_type, user_id, session_id, component_id, element_id, post_id, keyword,
                    metadata, client_time, server_time, stream_id)
select
    -- 48-bit Unix ms, version 7, 74 bits from md5: unique and in time order, like the server's ids.
    (lpad(to_hex((extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
    event_type, user_id, 'bench-stats-' || (user_id * 31 + g / 20) % 1000000, component_id,
    'element-' || g % 50, post_id, keyword,
    jsonb_strip_nulls(jsonb_build_object('componentId', component_id, 'elementId', 'element-' || g % 50,
                                         'postId', post_id, 'keyword', keyword,
                                         'page', case when post_id is null then '/search' else '/posts/' || post_id end)),
    ts - interval '40 milliseconds', ts, null
from (
    select g, ts, md5(g::text) as h, user_id, component_id, event_type,
           case when event_type <> 'SEARCH' then 1 + floor(:posts * r2 * r2 * r2)::bigint end as post_id,
           case when event_type = 'SEARCH' then 'kw-' || (1 + floor(:keywords * r2 * r2 * r2)::bigint) end as keyword
    from (
        select g, ts, r2,
               1 + floor(:users * r4)::bigint as user_id,
               :component_base + 1 + floor(:components * r3 * r3)::bigint as component_id,
               case when r1 < 0.40 then 'PAGE_VIEW' when r1 < 0.70 then 'CLICK' when r1 < 0.85 then 'LIKE'
                    when r1 < 0.95 then 'SEARCH' when r1 < 0.98 then 'SHARE' else 'COMMENT' end as event_type
        from (
            select g, random() as r1, random() as r2, random() as r3, random() as r4,
                   t.time_from + (t.time_to - t.time_from) * ((g - 1)::float8 / :events) as ts
            from bench_statistics_dataset t, generate_series(1, :events) g
        ) r
    ) s
) e;

\echo 'the query shapes of every minute ...'
-- The five shapes of each event (see event_shapes() in the server), per minute.
create temp table dataset_shapes on commit drop as
select bucket, event_type, coalesce(component_id, 0) as component_id, coalesce(post_id, 0) as post_id,
       coalesce(keyword, '') as keyword, count(*) as count
from (
    select date_trunc('minute', server_time) as bucket, event_type, component_id, post_id, keyword
    from events
    where component_id between :component_base + 1 and :component_base + :components
      and session_id like 'bench-stats-%'
) e
group by grouping sets ((event_type, bucket), (event_type, component_id, bucket),
                        (event_type, component_id, post_id, bucket), (event_type, component_id, keyword, bucket),
                        (event_type, component_id, post_id, keyword, bucket))
having (grouping(post_id) = 1 or post_id is not null) and (grouping(keyword) = 1 or keyword is not null);

\echo 'event_stats ...'
insert into event_stats as s (bucket, event_type, component_id, post_id, keyword, count)
select bucket, event_type, component_id, post_id, keyword, count from dataset_shapes
order by event_type, component_id, post_id, keyword, bucket
on conflict (event_type, component_id, post_id, keyword, bucket) do update set count = s.count + excluded.count;

\echo 'event_totals ...'
insert into event_totals as t (event_type, component_id, post_id, keyword, count)
select event_type, component_id, post_id, keyword, sum(count) from dataset_shapes
group by event_type, component_id, post_id, keyword
order by event_type, component_id, post_id, keyword
on conflict (event_type, component_id, post_id, keyword) do update set count = t.count + excluded.count;
commit;
\timing off
\endif

-- Once after generation (also when a previous run was cut off before it): hint bits and
-- the visibility map set, planner statistics of the new size.
select coalesce(last_vacuum, last_autovacuum) is null as needs_vacuum
from pg_stat_user_tables where relname = 'event_stats' and schemaname = current_schema() \gset
\if :needs_vacuum
\echo 'vacuum and analyze ...'
vacuum (analyze) event_stats;
vacuum (analyze) event_totals;
analyze events;
\endif
