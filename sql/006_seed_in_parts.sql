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

