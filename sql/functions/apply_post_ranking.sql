-- apply_post_ranking(limit) -> posts taken in (at most `limit`, lowest ids first).
-- Brings post_hashtags up to date for noted posts: removes the rows of each one's noted
-- state, adds those of its current state (rows in both stay). It share-locks the posts
-- first, skipping any that a transaction is changing right now (those stay noted for the
-- next call), so it never waits for a toggle, never deadlocks with one, and no change of
-- those posts can slip in between reading them and committing. Callers may run it
-- concurrently: a noted post is taken in by one of them.
create or replace function apply_post_ranking(p_limit int)
returns int
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
declare
    v_noted bigint[];
    v_ids bigint[];
    v_taken int;
begin
    v_noted := array(select post_id from post_ranking_pending order by post_id limit greatest(p_limit, 0));
    if cardinality(v_noted) = 0 then
        return 0;
    end if;
    v_ids := array(select p.id from posts p where p.id = any(v_noted) order by p.id for share skip locked);
    -- Noted ids that no post has any more (its id was changed): nothing to lock.
    v_ids := v_ids || array(select n from unnest(v_noted) as n
                            where not exists (select 1 from posts p where p.id = n));
    if cardinality(v_ids) = 0 then
        return 0;
    end if;
    with taken as (
        delete from post_ranking_pending where post_id = any(v_ids) returning *
    ),
    shown as (
        select hashtextextended(t.tag, 0) as tag_hash, m.like_count, m.created_at, m.post_id, t.tag as hashtag
        from taken m, unnest(m.hashtags) with ordinality as t(tag, n)
        where m.listed and t.tag <> all(m.hashtags[1:t.n - 1])
    ),
    current as (
        select hashtextextended(t.tag, 0) as tag_hash, p.like_count, p.created_at, p.id as post_id, t.tag as hashtag
        from taken m join posts p on p.id = m.post_id, unnest(p.hashtags) with ordinality as t(tag, n)
        where p.visibility = 'PUBLIC' and t.tag <> all(p.hashtags[1:t.n - 1])
    ),
    gone as (
        delete from post_hashtags
        where ctid = any (array(
            select (select r.ctid from post_hashtags r
                    where r.tag_hash = s.tag_hash and r.like_count = s.like_count
                      and r.created_at = s.created_at and r.post_id = s.post_id and r.hashtag = s.hashtag)
            from (select * from shown except all select * from current) s))
        returning 1
    ),
    added as (
        insert into post_hashtags (tag_hash, like_count, created_at, post_id, hashtag)
        select * from (select * from current except all select * from shown) c
        -- A row there already (the table edited by hand): one upkeep call failing on it
        -- would stop the upkeep of every post after it.
        on conflict do nothing
        returning 1
    )
    select count(*) into v_taken from taken;
    return v_taken;
end;
$$;
