-- search_posts(hashtag, limit): the tag's top `limit` by the ranking, shown in the order
-- of their current like counts (the ranking's may be a moment behind).
create or replace function search_posts(p_tag text, p_limit int)
returns setof posts
language sql
stable
begin atomic
    select p.*
    from (select r.post_id
          from post_hashtags r
          where r.tag_hash = hashtextextended(p_tag, 0) and r.hashtag = p_tag
          order by r.like_count desc, r.created_at desc, r.post_id desc
          limit greatest(coalesce(p_limit, 0), 0)) r
    join posts p on p.id = r.post_id
    order by p.like_count desc, p.created_at desc, p.id desc;
end;
