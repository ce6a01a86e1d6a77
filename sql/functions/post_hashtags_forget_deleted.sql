-- A deleted post's rows are those of its noted state, if it has one.
create or replace function post_hashtags_forget_deleted()
returns trigger
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
declare
    shown post_ranking_pending;
begin
    delete from post_ranking_pending where post_id = old.id returning * into shown;
    if not found then
        shown := row(old.id, old.like_count, old.created_at, old.hashtags, old.visibility = 'PUBLIC');
    end if;
    if shown.listed then
        delete from post_hashtags
        where tag_hash = any(array(select hashtextextended(t.tag, 0) from unnest(shown.hashtags) as t(tag)))
          and like_count = shown.like_count and created_at = shown.created_at and post_id = shown.post_id
          and hashtag = any(shown.hashtags);
    end if;
    return null;
end;
$$;

create or replace trigger posts_ranking_delete after delete on posts
    for each row execute function post_hashtags_forget_deleted();
