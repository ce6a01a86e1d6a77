-- 006_seed_in_parts: the data set seeded by several sessions at once, with the search
-- ranking's key built once per seeding instead of once per stage, and that key made of
-- fixed-width columns (a hash of the hashtag in place of its text).
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here. Every statement can run again.
--
-- seed_dataset() (005) inserts a stage's posts in one statement, so one core works while
-- the other waits, and it drops and rebuilds post_hashtags' key at every large stage:
-- 100k -> 500k -> 1M -> 2M sorted 0.25 + 1.25 + 2.5 + 5 million ranking rows for a ranking
-- of 5 million. tools/seed_dataset.sh now drives these pieces instead:
--   seed_users(users)                          the users, once
--   seed_ranking_key(false)                    drop the key before a seeding that at
--                                              least doubles the posts
--   seed_posts(users, first, last, stage_size) one part of a stage, one per session
--   seed_ranking_key(true)                     build the key once, after the last stage
--   seed_statistics()                          planner statistics and hashtag_stats
-- seed_dataset(users, posts) stays, made of the same pieces, for a one-call seeding.
--
-- A seeding's parts hold a shared advisory lock and dropping or building the key an
-- exclusive one, so the key never changes under a part still inserting.
--
-- post_hashtags' key was (hashtag, like_count, created_at, post_id). Behind a text column
-- the offsets of the columns after it differ from row to row, so every comparison that
-- gets past the hashtag (nearly all: there are a few hundred hashtags for millions of
-- rows) has to walk the tuple to find like_count (nocache_index_getattr in profiles).
-- Building the key of the 2M-post data set took 14-15 s of the seeding. With the fixed-width
-- key (tag_hash, like_count, created_at, post_id), building the same rows' key took 0.67x
-- the time (alternating runs), and the moves of ranking rows that every like toggle makes
-- compare fixed-width keys too. The hashtag stays in the index as an included column, so a
-- search still reads `limit` index entries and nothing else, and checks the text: two
-- hashtags with the same hash only share a stretch of the index.
--
-- One thing the hash adds: two hashtags of the SAME post with the same 64-bit hash would
-- give that post two ranking rows with one key, and the write would fail. For 1-4 hashtags
-- per post that chance is about 1e-18 per post.

set local client_min_messages = warning;

-- search_posts() is bound to the table's columns (BEGIN ATOMIC): made again below.
drop function if exists search_posts(text, int);

-- ---------------------------------------------------------------------------
-- The ranking, keyed by hash (copied, not updated in place: on a large data set writing
-- every row once and building the key once is several times faster than an UPDATE that
-- moves every row and maintains the old key meanwhile)
-- ---------------------------------------------------------------------------
do $$
begin
    if not exists (select 1 from pg_attribute
                   where attrelid = 'post_hashtags'::regclass and attname = 'tag_hash' and not attisdropped) then
        create table post_hashtags_by_hash (
            tag_hash   bigint      not null,
            like_count bigint      not null,
            created_at timestamptz not null,
            post_id    bigint      not null,
            hashtag    text        not null
        );
        insert into post_hashtags_by_hash (tag_hash, like_count, created_at, post_id, hashtag)
        select hashtextextended(hashtag, 0), like_count, created_at, post_id, hashtag
        from post_hashtags;
        drop table post_hashtags;
        alter table post_hashtags_by_hash rename to post_hashtags;
        -- Search order, read backwards: most liked, then newest.
        alter table post_hashtags add constraint post_hashtags_pkey
            primary key (tag_hash, like_count, created_at, post_id) include (hashtag);
    end if;
end;
$$;
analyze post_hashtags;

-- ---------------------------------------------------------------------------
-- Triggers on posts: as in 005, with the hash
-- ---------------------------------------------------------------------------
create or replace function post_hashtags_add_created()
returns trigger
language plpgsql
set search_path from current
as $$
begin
    insert into post_hashtags (tag_hash, like_count, created_at, post_id, hashtag)
    select hashtextextended(t.tag, 0), p.like_count, p.created_at, p.id, t.tag
    from created_posts p, unnest(p.hashtags) with ordinality as t(tag, n)
    where p.visibility = 'PUBLIC' and t.tag <> all(p.hashtags[1:t.n - 1]);
    return null;
end;
$$;

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
                    where r.tag_hash = hashtextextended(t.tag, 0) and r.like_count = m.like_count
                      and r.created_at = m.created_at and r.post_id = m.id and r.hashtag = t.tag)
            from moved_from m, unnest(m.hashtags) as t(tag)))
        returning 1
    )
    insert into post_hashtags (tag_hash, like_count, created_at, post_id, hashtag)
    select hashtextextended(t.tag, 0), m.like_count, m.created_at, m.id, t.tag
    from moved_to m, unnest(m.hashtags) with ordinality as t(tag, n)
    where t.tag <> all(m.hashtags[1:t.n - 1]);
    return null;
end;
$$;

create or replace function post_hashtags_forget_deleted()
returns trigger
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
begin
    if old.visibility = 'PUBLIC' then
        delete from post_hashtags
        where tag_hash = any(array(select hashtextextended(t.tag, 0) from unnest(old.hashtags) as t(tag)))
          and like_count = old.like_count and created_at = old.created_at and post_id = old.id
          and hashtag = any(old.hashtags);
    end if;
    return null;
end;
$$;

-- ---------------------------------------------------------------------------
-- search_posts(hashtag, limit): as in 005, reading the hash's stretch of the key
-- ---------------------------------------------------------------------------
create or replace function search_posts(p_tag text, p_limit int)
returns setof posts
language sql
stable
begin atomic
    select p.*
    from (select r.post_id, r.like_count, r.created_at
          from post_hashtags r
          where r.tag_hash = hashtextextended(p_tag, 0) and r.hashtag = p_tag
          order by r.like_count desc, r.created_at desc, r.post_id desc
          limit greatest(coalesce(p_limit, 0), 0)) r
    join posts p on p.id = r.post_id
    order by r.like_count desc, r.created_at desc, r.post_id desc;
end;

-- ---------------------------------------------------------------------------
-- seed_users(users): users 1..users (those missing)
-- ---------------------------------------------------------------------------
create or replace function seed_users(p_users int)
returns bigint
language plpgsql
set search_path from current
as $$
declare
    v_first bigint;
    v_added bigint;
begin
    if p_users is null or p_users < 1 then
        raise exception 'seed_users: need users >= 1 (got %)', p_users;
    end if;
    perform pg_advisory_xact_lock_shared(hashtext('event-tracker:seed-dataset'));
    select coalesce(max(id), 0) + 1 into v_first from users;
    insert into users (id, name, created_at)
    select g, 'user-' || g, now() - (p_users - g) * interval '5 minutes'
    from generate_series(v_first, p_users) g;
    get diagnostics v_added = row_count;
    return v_added;
end;
$$;

-- ---------------------------------------------------------------------------
-- seed_posts(users, first, last, stage_size): posts first..last of a stage adding
-- stage_size posts (numbered 1..stage_size; the last one is the newest), authored by
-- users 1..users, 1 to 4 distinct hashtags of tag1..tag500 each
-- ---------------------------------------------------------------------------
-- The posts of a stage are spread over parts that run in sessions of their own; ids come
-- from the sequence, so the parts' ids interleave. The insert trigger (above) adds each
-- part's ranking rows. Not durable until the commit's WAL is flushed (a data set can be
-- made again), which saves a WAL flush wait per part.
create or replace function seed_posts(p_users int, p_first bigint, p_last bigint, p_stage_size bigint)
returns bigint
language plpgsql
set search_path from current
as $$
declare
    v_added bigint;
begin
    if p_users is null or p_users < 1 or p_first is null or p_last is null or p_stage_size is null
       or p_first < 1 or p_last > p_stage_size then
        raise exception 'seed_posts: need users >= 1 and 1 <= first, last <= stage_size (got %, %, %, %)',
            p_users, p_first, p_last, p_stage_size;
    end if;
    perform pg_advisory_xact_lock_shared(hashtext('event-tracker:seed-dataset'));
    set local synchronous_commit = off;
    insert into posts (user_id, content, image_urls, hashtags, created_at, updated_at)
    select 1 + floor(random() * p_users)::bigint,
           'Post ' || g || ' about #' || t1 || ' from the data set',
           array['https://img.example.com/posts/' || g || '.jpg'],
           case tag_count when 1 then array[t1]
                          when 2 then array[t1, t2]
                          when 3 then array[t1, t2, t3]
                          else array[t1, t2, t3, t4] end,
           ts, ts
    from (
        -- Four distinct tags: steps of 1..124 from a random start never wrap past 500.
        select g, tag_count, ts,
               'tag' || (1 + b % 500) as t1,
               'tag' || (1 + (b + d1) % 500) as t2,
               'tag' || (1 + (b + d1 + d2) % 500) as t3,
               'tag' || (1 + (b + d1 + d2 + d3) % 500) as t4
        from (
            select g,
                   1 + floor(random() * 4)::int as tag_count,
                   floor(random() * 500)::int as b,
                   1 + floor(random() * 124)::int as d1,
                   1 + floor(random() * 124)::int as d2,
                   1 + floor(random() * 124)::int as d3,
                   now() - (p_stage_size - g) * interval '10 seconds' as ts
            from generate_series(p_first, p_last) g
        ) r
    ) s;
    get diagnostics v_added = row_count;
    return v_added;
end;
$$;

-- ---------------------------------------------------------------------------
-- seed_ranking_key(present): drops (false) or builds (true) post_hashtags' key, if it
-- is not already so; returns whether it changed anything
-- ---------------------------------------------------------------------------
-- Building the key once over the finished ranking is several times cheaper than
-- inserting into it row by row, and than building it again after every stage. With the
-- memory to sort 5 million ranking rows without spilling to disk (the local
-- set-up's 512 MB is shared by the build's two processes): 0.9x the time.
create or replace function seed_ranking_key(p_present boolean)
returns boolean
language plpgsql
set search_path from current
set maintenance_work_mem = '1GB'
as $$
begin
    perform pg_advisory_xact_lock(hashtext('event-tracker:seed-dataset'));
    if p_present = (to_regclass('post_hashtags_pkey') is not null) then
        return false;
    end if;
    if p_present then
        alter table post_hashtags add constraint post_hashtags_pkey
            primary key (tag_hash, like_count, created_at, post_id) include (hashtag);
    else
        alter table post_hashtags drop constraint post_hashtags_pkey;
    end if;
    return true;
end;
$$;

-- ---------------------------------------------------------------------------
-- seed_statistics(): planner statistics of the seeded tables and hashtag_stats
-- ---------------------------------------------------------------------------
create or replace function seed_statistics()
returns void
language plpgsql
set search_path from current
as $$
begin
    analyze users;
    analyze posts;
    analyze post_hashtags;
    perform refresh_hashtag_stats();
end;
$$;

-- ---------------------------------------------------------------------------
-- seed_dataset(users, posts): the whole seeding in one call and one session
-- ---------------------------------------------------------------------------
-- As in 005: tops posts up to `posts`, dropping the ranking's key first (and building
-- it afterwards) when that adds at least half as many posts as there are.
create or replace procedure seed_dataset(p_users int, p_posts int)
language plpgsql
as $$
declare
    v_have    bigint;
    v_add     bigint;
    v_step    timestamptz := clock_timestamp();
    v_steps   text := '';
begin
    if p_users is null or p_posts is null or p_users < 1 or p_posts < 0 then
        raise exception 'seed_dataset: need users >= 1 and posts >= 0 (got %, %)', p_users, p_posts;
    end if;
    perform seed_users(p_users);
    v_steps := v_steps || format(' users %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    v_step := clock_timestamp();

    select count(*) into v_have from posts;
    v_add := p_posts - v_have;
    if v_add > 0 then
        if v_add * 2 >= v_have then
            perform seed_ranking_key(false);
        end if;
        perform seed_posts(p_users, 1, v_add, v_add);
        v_steps := v_steps || format(', posts %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
        v_step := clock_timestamp();
    end if;
    -- Also builds a key that an interrupted seeding left dropped.
    if seed_ranking_key(true) then
        v_steps := v_steps || format(', ranking key %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
        v_step := clock_timestamp();
    end if;

    perform seed_statistics();
    v_steps := v_steps || format(', statistics %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    raise notice 'seed_dataset(%, %): added % posts;%', p_users, p_posts, greatest(v_add, 0), v_steps;
end;
$$;
