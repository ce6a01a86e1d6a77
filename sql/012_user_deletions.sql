-- 012_user_deletions: a record of every erasure of a user's data (DELETE
-- /api/users/{userId}/events), with what it removed. The erased events themselves are gone;
-- this table keeps only that the deletion happened, when, and how much it removed.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here.
create table user_deletions (
    id                bigint generated always as identity primary key,
    user_id           bigint      not null,
    deleted_at        timestamptz not null default now(),
    events_stored     bigint      not null,  -- rows of events
    events_unflushed  bigint      not null,  -- events still in Redis, not yet flushed
    events_rejected   bigint      not null,  -- rows of events_rejected
    recent_keywords   bigint      not null,
    likes             bigint      not null   -- rows of likes (posts.like_count keeps them)
);
create index user_deletions_user_idx on user_deletions (user_id, deleted_at);
