-- 008_ranking_by_tag_hash: the search ranking keyed by a 64-bit hash of the hashtag
-- instead of its text.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here. Every statement can run again.
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
-- seed_ranking_key(present): as in 006, for the key above
-- ---------------------------------------------------------------------------
-- With the memory to sort 5 million ranking rows without spilling to disk (the local
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
