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

-- Changed and deleted posts: per row. Each finds its own ranking rows by their full key
-- (one index probe per hashtag), a plan that does not depend on how many rows changed.
create or replace function post_hashtags_follow()
returns trigger
language plpgsql
set search_path from current
as $$
begin
    if tg_op = 'UPDATE' and old.visibility = 'PUBLIC' and new.visibility = 'PUBLIC'
       and old.hashtags = new.hashtags and old.created_at = new.created_at and old.id = new.id then
        -- A like toggle: the same rows, re-ranked.
        update post_hashtags set like_count = new.like_count
        where hashtag = any(old.hashtags) and like_count = old.like_count
          and created_at = old.created_at and post_id = old.id;
        return null;
    end if;
    if old.visibility = 'PUBLIC' then
        delete from post_hashtags
        where hashtag = any(old.hashtags) and like_count = old.like_count
          and created_at = old.created_at and post_id = old.id;
    end if;
    if tg_op = 'UPDATE' and new.visibility = 'PUBLIC' then
        insert into post_hashtags (hashtag, like_count, created_at, post_id)
        select t.tag, new.like_count, new.created_at, new.id
        from unnest(new.hashtags) with ordinality as t(tag, n)
        where t.tag <> all(new.hashtags[1:t.n - 1]);
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
    for each row
    when (old.like_count is distinct from new.like_count or old.hashtags is distinct from new.hashtags
          or old.visibility is distinct from new.visibility or old.created_at is distinct from new.created_at
          or old.id is distinct from new.id)
    execute function post_hashtags_follow();

drop trigger if exists posts_ranking_delete on posts;
create trigger posts_ranking_delete after delete on posts
    for each row execute function post_hashtags_follow();

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
-- `limit` entries of post_hashtags_pkey read backwards, then those posts by id. One plan
-- for every hashtag, so PL/pgSQL's cached generic plan serves them all.
create or replace function search_posts(p_tag text, p_limit int)
returns setof posts
language plpgsql
stable
set search_path from current
as $$
begin
    return query
        select p.*
        from (select r.post_id, r.like_count, r.created_at
              from post_hashtags r
              where r.hashtag = p_tag
              order by r.like_count desc, r.created_at desc, r.post_id desc
              limit greatest(coalesce(p_limit, 0), 0)) r
        join posts p on p.id = r.post_id
        order by r.like_count desc, r.created_at desc, r.post_id desc;
end;
$$;
-- 003 planned every call anew (its plan depended on the hashtag); this one needs not.
alter function search_posts(text, int) reset plan_cache_mode;

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
create or replace function toggle_likes(p_users bigint[], p_posts bigint[])
returns table (liked boolean, like_count bigint)
language plpgsql
set search_path from current
as $$
begin
    if cardinality(p_users) is distinct from cardinality(p_posts) then
        raise exception 'toggle_likes: % users but % posts', cardinality(p_users), cardinality(p_posts);
    end if;
    perform 1 from posts where id = any(p_posts) order by id for no key update;
    return query
        with toggle as (
            select t.k, t.user_id, t.post_id, p.like_count as count_before,
                   row_number() over (partition by t.user_id, t.post_id order by t.k) as nth
            from unnest(p_users, p_posts) with ordinality as t(user_id, post_id, k)
            join posts p on p.id = t.post_id
        ),
        outcome as (
            select t.k, t.user_id, t.post_id, t.nth,
                   exists (select 1 from likes l where l.user_id = t.user_id and l.post_id = t.post_id)
                       <> (t.nth % 2 = 1) as liked_after
            from toggle t
        ),
        counted as (
            select o.k, o.liked_after,
                   greatest(t.count_before + sum(case when o.liked_after then 1 else -1 end)
                                                 over (partition by o.post_id order by o.k), 0) as count_after,
                   o.post_id
            from outcome o join toggle t using (k)
        ),
        -- The state each (user, post) pair ends in: its last toggle's.
        settled as (
            select distinct on (o.user_id, o.post_id) o.user_id, o.post_id, o.liked_after
            from outcome o
            order by o.user_id, o.post_id, o.k desc
        ),
        unliked as (
            delete from likes l using settled f
            where l.user_id = f.user_id and l.post_id = f.post_id and not f.liked_after
            returning l.post_id
        ),
        newly_liked as (
            insert into likes (user_id, post_id)
            select f.user_id, f.post_id from settled f
            where f.liked_after and not exists (
                select 1 from likes l where l.user_id = f.user_id and l.post_id = f.post_id)
            returning post_id
        ),
        recounted as (
            update posts p set like_count = c.count_after
            from (select distinct on (c.post_id) c.post_id, c.count_after
                  from counted c order by c.post_id, c.k desc) c
            where p.id = c.post_id and p.like_count <> c.count_after
            returning p.id
        )
        select c.liked_after, c.count_after
        from unnest(p_posts) with ordinality as t(post_id, k)
        left join counted c on c.k = t.k
        order by t.k;
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
