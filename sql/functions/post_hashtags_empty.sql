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

create or replace trigger posts_ranking_truncate after truncate on posts
    for each statement execute function post_hashtags_empty();
