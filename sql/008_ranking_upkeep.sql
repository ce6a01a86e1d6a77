-- 008_ranking_upkeep: the search ranking (post_hashtags) takes in the changes of posts a
-- moment later, in batches, instead of inside every statement that changes a post.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here. Every statement can run again.
--
-- Why: with the like toggles of bench/posts.sh, the update trigger of 006 was 47 % of the
-- CPU time toggle_likes() spent in PostgreSQL (perf: the delete and insert of one ranking
-- row per hashtag in post_hashtags' 5-million-row key, for every toggle), and PostgreSQL
-- was half of the machine's CPU. With the trigger off, PostgreSQL spent 116-155 µs per
-- toggle against 225-232 µs with it. Now a change of a post only notes the post (once,
-- until the ranking takes it in), and apply_post_ranking() rewrites its ranking rows
-- once for however many toggles it had meanwhile. The server calls it every
-- --search-ranking-lag-ms (1 s by default). The saving is in toggles of the same post
-- within one interval: against the synchronous trigger, alternating, PostgreSQL spent
-- 124-170 µs per toggle against 194-217 µs with a 1 s interval (medians 0.71-0.80x), and
-- no less with 200 ms (1,000 hot posts at ~4,700 toggles/s are toggled about once per
-- 200 ms). The upkeep takes 200 posts per transaction: toggles of the posts it holds
-- wait for it, and with 2,000 the toggles' p99 rose from ~30 to ~85 ms.
--
-- What stays true: for a post with no row in post_ranking_pending, post_hashtags holds
-- one row per hashtag of the post as it is (if PUBLIC); for a post with one, it holds the
-- rows of the state that row records. search_posts() orders the posts it found by their
-- current like counts, so an answer never shows a less liked post above a more liked one;
-- which posts make a tag's top N can be up to one upkeep interval behind.

create table if not exists post_ranking_pending (
    post_id    bigint primary key,
    -- The post as post_hashtags has it: its state before the first change not yet applied.
    like_count bigint      not null,
    created_at timestamptz not null,
    hashtags   text[]      not null,
    listed     boolean     not null  -- PUBLIC, so in post_hashtags
);

-- An update notes each post it changes (what the ranking shows of it), unless noted already.
-- A post whose id changed is noted under both ids: under the old one with the rows to
-- remove, under the new one with none.
create or replace function post_hashtags_follow_updates()
returns trigger
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
begin
    insert into post_ranking_pending (post_id, like_count, created_at, hashtags, listed)
    select id, like_count, created_at, hashtags, visibility = 'PUBLIC'
    from (select id, like_count, created_at, hashtags, visibility from old_posts
          except all
          select id, like_count, created_at, hashtags, visibility from new_posts) changed
    union all
    select id, 0, now(), '{}', false
    from (select id from new_posts except select id from old_posts) renamed
    on conflict (post_id) do nothing;
    return null;
end;
$$;

-- A deleted post's rows are those of its noted state, if it has one.
create or replace function post_hashtags_forget_deleted()
returns trigger
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
declare
    shown post_ranking_pending;
begin
    delete from post_ranking_pending where post_id = old.id returning * into shown;
    if not found then
        shown := row(old.id, old.like_count, old.created_at, old.hashtags, old.visibility = 'PUBLIC');
    end if;
    if shown.listed then
        delete from post_hashtags
        where tag_hash = any(array(select hashtextextended(t.tag, 0) from unnest(shown.hashtags) as t(tag)))
          and like_count = shown.like_count and created_at = shown.created_at and post_id = shown.post_id
          and hashtag = any(shown.hashtags);
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
    truncate post_hashtags, post_ranking_pending;
    return null;
end;
$$;

-- apply_post_ranking(limit) -> posts taken in (at most `limit`, lowest ids first).
-- Brings post_hashtags up to date for noted posts: removes the rows of each one's noted
-- state, adds those of its current state (rows in both stay). It share-locks the posts
-- first, skipping any that a transaction is changing right now (those stay noted for the
-- next call), so it never waits for a toggle, never deadlocks with one, and no change of
-- those posts can slip in between reading them and committing. Callers may run it
-- concurrently: a noted post is taken in by one of them.
create or replace function apply_post_ranking(p_limit int)
returns int
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
declare
    v_noted bigint[];
    v_ids bigint[];
    v_taken int;
begin
    v_noted := array(select post_id from post_ranking_pending order by post_id limit greatest(p_limit, 0));
    if cardinality(v_noted) = 0 then
        return 0;
    end if;
    v_ids := array(select p.id from posts p where p.id = any(v_noted) order by p.id for share skip locked);
    -- Noted ids that no post has any more (its id was changed): nothing to lock.
    v_ids := v_ids || array(select n from unnest(v_noted) as n
                            where not exists (select 1 from posts p where p.id = n));
    if cardinality(v_ids) = 0 then
        return 0;
    end if;
    with taken as (
        delete from post_ranking_pending where post_id = any(v_ids) returning *
    ),
    shown as (
        select hashtextextended(t.tag, 0) as tag_hash, m.like_count, m.created_at, m.post_id, t.tag as hashtag
        from taken m, unnest(m.hashtags) with ordinality as t(tag, n)
        where m.listed and t.tag <> all(m.hashtags[1:t.n - 1])
    ),
    current as (
        select hashtextextended(t.tag, 0) as tag_hash, p.like_count, p.created_at, p.id as post_id, t.tag as hashtag
        from taken m join posts p on p.id = m.post_id, unnest(p.hashtags) with ordinality as t(tag, n)
        where p.visibility = 'PUBLIC' and t.tag <> all(p.hashtags[1:t.n - 1])
    ),
    gone as (
        delete from post_hashtags
        where ctid = any (array(
            select (select r.ctid from post_hashtags r
                    where r.tag_hash = s.tag_hash and r.like_count = s.like_count
                      and r.created_at = s.created_at and r.post_id = s.post_id and r.hashtag = s.hashtag)
            from (select * from shown except all select * from current) s))
        returning 1
    ),
    added as (
        insert into post_hashtags (tag_hash, like_count, created_at, post_id, hashtag)
        select * from (select * from current except all select * from shown) c
        -- A row there already (the table edited by hand): one upkeep call failing on it
        -- would stop the upkeep of every post after it.
        on conflict do nothing
        returning 1
    )
    select count(*) into v_taken from taken;
    return v_taken;
end;
$$;

-- search_posts(hashtag, limit): the tag's top `limit` by the ranking, shown in the order
-- of their current like counts (the ranking's may be a moment behind).
create or replace function search_posts(p_tag text, p_limit int)
returns setof posts
language sql
stable
begin atomic
    select p.*
    from (select r.post_id
          from post_hashtags r
          where r.tag_hash = hashtextextended(p_tag, 0) and r.hashtag = p_tag
          order by r.like_count desc, r.created_at desc, r.post_id desc
          limit greatest(coalesce(p_limit, 0), 0)) r
    join posts p on p.id = r.post_id
    order by p.like_count desc, p.created_at desc, p.id desc;
end;
