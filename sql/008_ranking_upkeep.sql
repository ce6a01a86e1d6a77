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

