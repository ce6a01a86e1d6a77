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

-- The search no longer reads these; every like toggle paid for keeping them.
drop index if exists posts_rank_idx;
drop index if exists posts_hashtags_idx;

