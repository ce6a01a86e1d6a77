-- 003_posts: users, posts with hashtags, likes; like toggles, hashtag search and the
-- data-set procedure.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

-- The authors of the data set. Posts created through the API may name users that are
-- not here: the contract has no user registration, so posts.user_id is not a foreign key.
create table users (
    id         bigint      primary key,
    name       text        not null,
    created_at timestamptz not null default now()
);

-- Hashtags are stored normalised (lower case, no '#'), as search looks them up.
create table posts (
    id         bigserial   primary key,
    user_id    bigint      not null,
    content    text        not null,
    image_urls text[]      not null default '{}',
    hashtags   text[]      not null default '{}',
    visibility text        not null default 'PUBLIC'
                           check (visibility in ('PUBLIC', 'PRIVATE')),
    like_count bigint      not null default 0 check (like_count >= 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Which posts carry a hashtag (hashtags @> array['x']). Without the pending list
-- (fastupdate): every like toggle writes a new row version and so new entries here, and
-- merging a full pending list would stall whichever toggle happened to fill it.
create index posts_hashtags_idx on posts using gin (hashtags) with (fastupdate = off);

-- "Most liked, then newest", read backwards. A B-tree cannot be keyed by the elements
-- of an array, so for a common hashtag search_posts() walks this index from the top and
-- keeps the posts that carry it (an index-only scan: hashtags and visibility are
-- included), and for a rare one it uses the GIN index.
create index posts_rank_idx on posts (like_count, created_at, id) include (hashtags, visibility);

-- One row per (user, post) like. posts.like_count equals the number of rows of the
-- post: toggle_like() is the only writer of both.
create table likes (
    user_id    bigint      not null,
    post_id    bigint      not null references posts (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (user_id, post_id)
);
create index likes_post_idx on likes (post_id);

-- About how many posts carry each hashtag: only used by search_posts() to choose its
-- plan, so it may be approximate. Post creation adds to it; seed_dataset() refreshes it
-- from the planner's statistics (refresh_hashtag_stats()).
create table hashtag_stats (
    hashtag    text   primary key,
    post_count bigint not null
);

-- ---------------------------------------------------------------------------
-- toggle_like(user, post) -> (liked, like_count); no row for an unknown post
-- ---------------------------------------------------------------------------
-- Locks the post row first, so toggles of one post run one after another and each one
-- sees the outcome of the one before (every statement of a PL/pgSQL function takes a
-- fresh snapshot under READ COMMITTED): every call changes the state, a like row and
-- the count change together, and the count never goes below zero.
create function toggle_like(p_user bigint, p_post bigint)
returns table (liked boolean, like_count bigint)
language plpgsql
set search_path from current
as $$
#variable_conflict use_column
begin
    perform 1 from posts where id = p_post for no key update;
    if not found then
        return;
    end if;
    delete from likes where user_id = p_user and post_id = p_post;
    if found then
        return query
            update posts set like_count = greatest(like_count - 1, 0) where id = p_post
            returning false, like_count;
    else
        insert into likes (user_id, post_id) values (p_user, p_post);
        return query
            update posts set like_count = like_count + 1 where id = p_post
            returning true, like_count;
    end if;
end;
$$;

-- ---------------------------------------------------------------------------
-- search_posts(hashtag, limit): the PUBLIC posts carrying the hashtag, most liked first,
-- then newest
-- ---------------------------------------------------------------------------
-- Two exact plans; hashtag_stats only decides which one is cheaper:
--   common hashtag: walk posts_rank_idx from the top and keep the posts that carry it;
--     about limit * total / count index entries are read. The walk is bounded (four times that),
--     and if it ends with fewer than `limit` posts the rare-hashtag plan answers instead.
--   rare hashtag: all of its posts through the GIN index, then the top `limit` of them.
-- With a hashtag on ~10,000 of 2,000,000 posts, the first reads ~2,000 index entries for
-- 10 results (about 1 ms); the second would read all 10,000 posts (about 35 ms).
create function search_posts(p_tag text, p_limit int)
returns setof posts
language plpgsql
stable
set search_path from current
-- Plan each query with its actual values: a generic plan cannot know how selective
-- the hashtag is nor how many rows the bounded walk takes.
set plan_cache_mode = force_custom_plan
as $$
declare
    v_count double precision;
    v_total double precision;
    v_walk  bigint;
    v_found bigint[];
begin
    if p_limit is null or p_limit < 1 then
        return;
    end if;
    select post_count into v_count from hashtag_stats where hashtag = p_tag;
    select greatest(reltuples, 0) into v_total from pg_class where oid = 'posts'::regclass;
    -- Reading total/count index entries per result beats reading all `count` posts
    -- (each ~7 times dearer: a heap row, then a sort) when count^2 * 7 > limit * total.
    if coalesce(v_count, 0) > 0 and v_count * v_count * 7 > p_limit * v_total then
        v_walk := ceil(4 * p_limit * v_total / v_count) + 1000;
        v_found := array(
            select p.id from (
                select id, hashtags, visibility from posts
                order by like_count desc, created_at desc, id desc
                limit v_walk) p
            where p.hashtags @> array[p_tag] and p.visibility = 'PUBLIC'
            limit p_limit);
        if cardinality(v_found) = p_limit then
            -- A STABLE function reads with one snapshot: these are the rows just ranked.
            return query
                select p.* from unnest(v_found) with ordinality as f(id, rank)
                join posts p on p.id = f.id
                order by f.rank;
            return;
        end if;
    end if;
    return query
        with tagged as materialized (
            select * from posts where hashtags @> array[p_tag] and visibility = 'PUBLIC')
        select * from tagged order by like_count desc, created_at desc, id desc limit p_limit;
end;
$$;

-- ---------------------------------------------------------------------------
-- refresh_hashtag_stats(): post counts of the common hashtags from the planner's
-- statistics (run after ANALYZE posts); returns how many hashtags it set
-- ---------------------------------------------------------------------------
create function refresh_hashtag_stats()
returns int
language plpgsql
set search_path from current
as $$
declare
    v_total double precision;
    v_rows  int;
begin
    select greatest(reltuples, 0) into v_total from pg_class where oid = 'posts'::regclass;
    insert into hashtag_stats (hashtag, post_count)
    select m.elem, round(m.freq * v_total)::bigint
    from pg_stats s,
         unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as m(elem, freq)
    where s.schemaname = current_schema() and s.tablename = 'posts' and s.attname = 'hashtags'
      and m.elem is not null
    on conflict (hashtag) do update set post_count = excluded.post_count;
    get diagnostics v_rows = row_count;
    return v_rows;
end;
$$;

-- ---------------------------------------------------------------------------
-- seed_dataset(users, posts): tops the data set up to `users` users (ids 1..users) and
-- `posts` posts in all, set-based, in one transaction
-- ---------------------------------------------------------------------------
-- Seeded posts: a random author among the users, a short content, one image URL and 1
-- to 4 distinct hashtags out of tag1 .. tag500, PUBLIC, no likes, created_at ten seconds
-- apart up to now. Run it in stages (tools/seed_dataset.sh: 100k, 500k, 1M, 2M posts).
--
-- Speed without giving up durability (every table stays logged):
--   * synchronous_commit is off for this transaction only: a crash right after it can
--     lose the data set's last moments, never anything committed before;
--   * when a stage adds at least half as many posts as there are, the GIN index is
--     dropped and built again afterwards (building it is several times cheaper than
--     inserting the same entries row by row). That holds an exclusive lock on posts
--     until the stage commits: run the command on a quiet database.
-- Afterwards VACUUM posts (tools/seed_dataset.sh does), so that searches can read the
-- ranking index without visiting the table.
create procedure seed_dataset(p_users int, p_posts int)
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
            drop index posts_hashtags_idx;
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
            -- The same definition as in the table section above.
            create index posts_hashtags_idx on posts using gin (hashtags) with (fastupdate = off);
            v_steps := v_steps || format(', GIN index %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
            v_step := clock_timestamp();
        end if;
    end if;

    analyze users;
    analyze posts;
    perform refresh_hashtag_stats();
    v_steps := v_steps || format(', statistics %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    raise notice 'seed_dataset(%, %): added % posts;%', p_users, p_posts, greatest(v_add, 0), v_steps;
end;
$$;
