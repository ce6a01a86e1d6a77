-- 009_drop_unread: what nothing reads any more.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here. Every statement can run again.
--
-- hashtag_stats counted posts per hashtag for 003's search_posts() to choose its plan;
-- the ranking table of 005 made it unread, yet every new post still updated it.
-- toggle_like() (one toggle) was replaced by toggle_likes() (a group) in 004.
set local client_min_messages = warning;
drop function if exists refresh_hashtag_stats();
drop function if exists toggle_like(bigint, bigint);
drop table if exists hashtag_stats;
