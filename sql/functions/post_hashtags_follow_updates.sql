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

create or replace trigger posts_ranking_update after update on posts
    referencing old table as old_posts new table as new_posts
    for each statement execute function post_hashtags_follow_updates();
