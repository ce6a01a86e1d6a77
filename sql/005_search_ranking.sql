-- 005_search_ranking: hashtag search from a ranking kept per hashtag, and like toggles
-- as a few set-based statements per group.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here. Every statement can run again.
--
-- Before this, search_posts() walked posts in (like_count, created_at, id) order and kept
-- the posts carrying the hashtag: ~2,000 index entries for 10 results of a hashtag on
-- 0.5 % of the posts, ~40,000 for 50, and a full sort of all of a rare hashtag's posts.
-- A B-tree cannot be keyed by the elements of an array, so the ranking gets a table of
-- its own: one row per (hashtag, PUBLIC post), keyed in search order. A search reads
-- exactly `limit` entries of it. Triggers on posts keep it equal to posts in the same
-- transaction, whoever writes posts (the server, seed_dataset, a person with psql).
--
-- Like toggles change like_count, a key column of the ranking: each one moves the post's
-- 1-4 ranking rows. In exchange the two indexes that searched posts (the ranking index
-- and the GIN index on hashtags) go: like_count is then indexed nowhere in posts, so
-- its updates are HOT (no index entries at all) where the page has room, instead of new
-- entries in the primary key, the ranking index and one GIN entry per hashtag.

-- Quiet the "does not exist, skipping" notices of the drop ... if exists below.
set local client_min_messages = warning;

-- ---------------------------------------------------------------------------
-- The ranking
-- ---------------------------------------------------------------------------
create table if not exists post_hashtags (
    hashtag    text        not null,
    like_count bigint      not null,
    created_at timestamptz not null,
    post_id    bigint      not null
);

-- Fill it from the posts there are (the migration of an existing data set), then key it:
-- building the index once is several times cheaper than inserting into it row by row.
-- Hashtags are distinct within a post (the API normalises them; `tag <> all(earlier
-- elements)` makes sure of it for any other writer).
do $$
begin
    if to_regclass('post_hashtags_pkey') is null then
        truncate post_hashtags;
        insert into post_hashtags (hashtag, like_count, created_at, post_id)
        select t.tag, p.like_count, p.created_at, p.id
        from posts p, unnest(p.hashtags) with ordinality as t(tag, n)
        where p.visibility = 'PUBLIC' and t.tag <> all(p.hashtags[1:t.n - 1]);
        -- Search order, read backwards: most liked, then newest.
        alter table post_hashtags add constraint post_hashtags_pkey
            primary key (hashtag, like_count, created_at, post_id);
    end if;
end;
$$;
analyze post_hashtags;

-- ---------------------------------------------------------------------------
-- Triggers: post_hashtags follows posts
-- ---------------------------------------------------------------------------
-- New posts: once per statement, from its transition table (seed_dataset adds a million
-- posts in one statement; a row trigger would run a million times).
create or replace function post_hashtags_add_created()
returns trigger
language plpgsql
set search_path from current
as $$
begin
    insert into post_hashtags (hashtag, like_count, created_at, post_id)
    select t.tag, p.like_count, p.created_at, p.id
    from created_posts p, unnest(p.hashtags) with ordinality as t(tag, n)
    where p.visibility = 'PUBLIC' and t.tag <> all(p.hashtags[1:t.n - 1]);
    return null;
end;
$$;

-- Changed posts: once per statement as well. A group of like toggles updates its posts
-- in one statement, so its ranking rows move in one statement too, instead of one
-- trigger call and one statement per post.
--
-- The ranking is only ever probed by its full key, one row at a time, and deleted by
-- row address: plans that cannot turn into a scan of post_hashtags, whatever sizes the
-- planner saw when it cached them (a fresh database starts with an empty ranking).
create or replace function post_hashtags_follow_updates()
returns trigger
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
begin
    with moved_from as (
        select id, hashtags, like_count, created_at from old_posts where visibility = 'PUBLIC'
        except all
        select id, hashtags, like_count, created_at from new_posts where visibility = 'PUBLIC'
    ),
    moved_to as (
        select id, hashtags, like_count, created_at from new_posts where visibility = 'PUBLIC'
        except all
        select id, hashtags, like_count, created_at from old_posts where visibility = 'PUBLIC'
    ),
    gone as (
        delete from post_hashtags
        where ctid = any (array(
            select (select r.ctid from post_hashtags r
                    where r.hashtag = t.tag and r.like_count = m.like_count
                      and r.created_at = m.created_at and r.post_id = m.id)
            from moved_from m, unnest(m.hashtags) as t(tag)))
        returning 1
    )
    insert into post_hashtags (hashtag, like_count, created_at, post_id)
    select t.tag, m.like_count, m.created_at, m.id
    from moved_to m, unnest(m.hashtags) with ordinality as t(tag, n)
    where t.tag <> all(m.hashtags[1:t.n - 1]);
    return null;
end;
$$;

-- Deleted posts: per row (rare: tests, people).
create or replace function post_hashtags_forget_deleted()
returns trigger
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
begin
    if old.visibility = 'PUBLIC' then
        delete from post_hashtags
        where hashtag = any(old.hashtags) and like_count = old.like_count
          and created_at = old.created_at and post_id = old.id;
    end if;
    return null;
end;
$$;

create or replace function post_hashtags_empty()
returns trigger
language plpgsql
set search_path from current
as $$
begin
    truncate post_hashtags;
    return null;
end;
$$;

drop trigger if exists posts_ranking_insert on posts;
create trigger posts_ranking_insert after insert on posts
    referencing new table as created_posts
    for each statement execute function post_hashtags_add_created();

drop trigger if exists posts_ranking_update on posts;
create trigger posts_ranking_update after update on posts
    referencing old table as old_posts new table as new_posts
    for each statement execute function post_hashtags_follow_updates();

drop trigger if exists posts_ranking_delete on posts;
create trigger posts_ranking_delete after delete on posts
    for each row execute function post_hashtags_forget_deleted();

drop trigger if exists posts_ranking_truncate on posts;
create trigger posts_ranking_truncate after truncate on posts
    for each statement execute function post_hashtags_empty();

-- The search no longer reads these; every like toggle paid for keeping them.
drop index if exists posts_rank_idx;
drop index if exists posts_hashtags_idx;

-- ---------------------------------------------------------------------------
-- search_posts(hashtag, limit): the PUBLIC posts carrying the hashtag, most liked first,
-- then newest (the newest id among equals)
-- ---------------------------------------------------------------------------
-- `limit` entries of post_hashtags_pkey read backwards, then those posts by id. A SQL
-- function whose body is bound when it is created (BEGIN ATOMIC: names are resolved
-- then, as `set search_path from current` makes sure for the others), which the planner
-- inlines into the calling statement: a statement prepared once per connection keeps
-- one plan for every hashtag, where 003's PL/pgSQL version was planned for every call.
create or replace function search_posts(p_tag text, p_limit int)
returns setof posts
language sql
stable
begin atomic
    select p.*
    from (select r.post_id, r.like_count, r.created_at
          from post_hashtags r
          where r.hashtag = p_tag
          order by r.like_count desc, r.created_at desc, r.post_id desc
          limit greatest(coalesce(p_limit, 0), 0)) r
    join posts p on p.id = r.post_id
    order by r.like_count desc, r.created_at desc, r.post_id desc;
end;

-- ---------------------------------------------------------------------------
-- toggle_likes(users, posts) -> one row (liked, like_count) per toggle, in input order;
-- both null for a post that does not exist
-- ---------------------------------------------------------------------------
-- The same contract as 004's, in two statements instead of three per toggle:
--   1. lock every post of the group, in id order (groups running at the same time lock
--      their common posts in the same order, so they wait for each other instead of
--      deadlocking);
--   2. then, in one statement with a snapshot taken after those locks (so it sees every
--      group it waited for), the whole group: the n-th toggle of a (user, post) pair in
--      the group flips what the (n-1)-th left, each toggle's count is the post's count
--      before the group plus the changes of the toggles up to it, and the likes rows and
--      counts are written once per pair and once per post. The count equals the rows
--      (never below zero), as with one toggle at a time in input order.
-- Like the ranking trigger, it reads posts and likes by key, one row at a time, and
-- writes them by row address: plans that stay right as likes grows from nothing.
create or replace function toggle_likes(p_users bigint[], p_posts bigint[])
returns table (liked boolean, like_count bigint)
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
begin
    if cardinality(p_users) is distinct from cardinality(p_posts) then
        raise exception 'toggle_likes: % users but % posts', cardinality(p_users), cardinality(p_posts);
    end if;
    perform 1 from posts where id = any(p_posts) order by id for no key update;
    return query
        with toggle as (
            select t.k, t.user_id, t.post_id, p.post_row, p.count_before, l.like_row,
                   row_number() over (partition by t.user_id, t.post_id order by t.k) as nth
            from unnest(p_users, p_posts) with ordinality as t(user_id, post_id, k)
            left join lateral (select ctid as post_row, posts.like_count as count_before from posts
                               where id = t.post_id limit 1) p on true
            left join lateral (select ctid as like_row from likes
                               where likes.user_id = t.user_id and likes.post_id = t.post_id limit 1) l on true
        ),
        outcome as (
            select k, user_id, post_id, post_row, count_before, like_row,
                   case when post_row is not null then (like_row is not null) <> (nth % 2 = 1) end as liked_after
            from toggle
        ),
        counted as (
            select k, post_row, count_before, liked_after,
                   case when post_row is not null then
                       greatest(count_before + sum(case when liked_after then 1 else -1 end)
                                                   over (partition by post_id order by k), 0)
                   end as count_after
            from outcome
        ),
        -- The state each (user, post) pair ends in: its last toggle's.
        settled as (
            select distinct on (user_id, post_id) user_id, post_id, like_row, liked_after
            from outcome
            where post_row is not null
            order by user_id, post_id, k desc
        ),
        unliked as (
            delete from likes
            where ctid = any (array(select like_row from settled where like_row is not null and not liked_after))
            returning 1
        ),
        newly_liked as (
            insert into likes (user_id, post_id)
            select user_id, post_id from settled where like_row is null and liked_after
            returning 1
        ),
        -- Each post's count after the group: its last toggle's.
        recount as (
            select distinct on (post_row) post_row, count_before, count_after
            from counted
            where post_row is not null
            order by post_row, k desc
        ),
        recounted as (
            update posts p
            set like_count = (select r.count_after from recount r where r.post_row = p.ctid)
            where p.ctid = any (array(select post_row from recount where count_after <> count_before))
            returning 1
        )
        select c.liked_after, c.count_after from counted c order by c.k;
end;
$$;

-- ---------------------------------------------------------------------------
-- seed_dataset(users, posts): as in 003, for the tables as they are now
-- ---------------------------------------------------------------------------
-- A stage that adds at least half as many posts as there are drops the ranking's key
-- and builds it again afterwards (the insert trigger fills the ranking either way).
create or replace procedure seed_dataset(p_users int, p_posts int)
language plpgsql
as $$
declare
    v_first_user bigint;
    v_have       bigint;
    v_add        bigint;
    v_rebuild    boolean;
    v_step       timestamptz := clock_timestamp();
    v_steps      text := '';
begin
    if p_users is null or p_posts is null or p_users < 1 or p_posts < 0 then
        raise exception 'seed_dataset: need users >= 1 and posts >= 0 (got %, %)', p_users, p_posts;
    end if;
    -- One seeding at a time.
    perform pg_advisory_xact_lock(hashtext('event-tracker:seed-dataset'));
    set local synchronous_commit = off;

    select coalesce(max(id), 0) + 1 into v_first_user from users;
    insert into users (id, name, created_at)
    select g, 'user-' || g, now() - (p_users - g) * interval '5 minutes'
    from generate_series(v_first_user, p_users) g;
    v_steps := v_steps || format(' users %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    v_step := clock_timestamp();

    select count(*) into v_have from posts;
    v_add := p_posts - v_have;
    if v_add > 0 then
        v_rebuild := v_add * 2 >= v_have;
        if v_rebuild then
            alter table post_hashtags drop constraint post_hashtags_pkey;
        end if;
        insert into posts (user_id, content, image_urls, hashtags, created_at, updated_at)
        select 1 + floor(random() * p_users)::bigint,
               'Post ' || g || ' about #' || t1 || ' from the data set',
               array['https://img.example.com/posts/' || g || '.jpg'],
               case n when 1 then array[t1]
                      when 2 then array[t1, t2]
                      when 3 then array[t1, t2, t3]
                      else array[t1, t2, t3, t4] end,
               ts, ts
        from (
            -- Four distinct tags: steps of 1..124 from a random start never wrap past 500.
            select g, n, ts,
                   'tag' || (1 + b % 500) as t1,
                   'tag' || (1 + (b + d1) % 500) as t2,
                   'tag' || (1 + (b + d1 + d2) % 500) as t3,
                   'tag' || (1 + (b + d1 + d2 + d3) % 500) as t4
            from (
                select g,
                       1 + floor(random() * 4)::int as n,
                       floor(random() * 500)::int as b,
                       1 + floor(random() * 124)::int as d1,
                       1 + floor(random() * 124)::int as d2,
                       1 + floor(random() * 124)::int as d3,
                       now() - (v_add - g) * interval '10 seconds' as ts
                from generate_series(1, v_add) g
            ) r
        ) s;
        v_steps := v_steps || format(', posts %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
        v_step := clock_timestamp();
        if v_rebuild then
            -- The same key as in the ranking section above.
            alter table post_hashtags add constraint post_hashtags_pkey
                primary key (hashtag, like_count, created_at, post_id);
            v_steps := v_steps || format(', ranking key %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
            v_step := clock_timestamp();
        end if;
    end if;

    analyze users;
    analyze posts;
    analyze post_hashtags;
    perform refresh_hashtag_stats();
    v_steps := v_steps || format(', statistics %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    raise notice 'seed_dataset(%, %): added % posts;%', p_users, p_posts, greatest(v_add, 0), v_steps;
end;
$$;
