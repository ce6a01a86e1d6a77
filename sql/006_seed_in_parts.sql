-- 006_seed_in_parts: the data set seeded by several sessions at once, with the search
-- ranking's key built once per seeding instead of once per stage.
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
-- from the sequence, so the parts' ids interleave. The insert trigger (005) adds each
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
-- inserting into it row by row, and than building it again after every stage.
create or replace function seed_ranking_key(p_present boolean)
returns boolean
language plpgsql
set search_path from current
as $$
begin
    perform pg_advisory_xact_lock(hashtext('event-tracker:seed-dataset'));
    if p_present = (to_regclass('post_hashtags_pkey') is not null) then
        return false;
    end if;
    if p_present then
        -- The same key as in 005.
        alter table post_hashtags add constraint post_hashtags_pkey
            primary key (hashtag, like_count, created_at, post_id);
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
