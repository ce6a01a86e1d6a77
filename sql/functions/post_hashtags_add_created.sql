-- ---------------------------------------------------------------------------
-- New PUBLIC posts add one ranking row per distinct hashtag (post_hashtags is keyed by
-- the hashtag's hash, then search order).
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

create or replace trigger posts_ranking_insert after insert on posts
    referencing new table as created_posts
    for each statement execute function post_hashtags_add_created();
