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

-- About how many posts carry each hashtag (dropped by 009: nothing reads it since 005).
create table hashtag_stats (
    hashtag    text   primary key,
    post_count bigint not null
);

