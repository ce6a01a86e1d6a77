-- ---------------------------------------------------------------------------
-- toggle_likes(users, posts) -> one row (liked, like_count) per toggle, in input order;
-- both null for a post that does not exist
-- ---------------------------------------------------------------------------
-- A group of toggles in two statements:
--   1. lock every post of the group, in id order (groups running at the same time lock
--      their common posts in the same order, so they wait for each other instead of
--      deadlocking);
--   2. then, in one statement with a snapshot taken after those locks (so it sees every
--      group it waited for), the whole group: the n-th toggle of a (user, post) pair in
--      the group flips what the (n-1)-th left, each toggle's count is the post's count
--      before the group plus the changes of the toggles up to it, and the likes rows and
--      counts are written once per pair and once per post. The count equals the rows
--      (never below zero), as with one toggle at a time in input order.
-- Like the ranking trigger, it reads posts and likes by key, one row at a time, and
-- writes them by row address: plans that stay right as likes grows from nothing.
create or replace function toggle_likes(p_users bigint[], p_posts bigint[])
returns table (liked boolean, like_count bigint)
language plpgsql
set search_path from current
set enable_seqscan = off
as $$
begin
    if cardinality(p_users) is distinct from cardinality(p_posts) then
        raise exception 'toggle_likes: % users but % posts', cardinality(p_users), cardinality(p_posts);
    end if;
    perform 1 from posts where id = any(p_posts) order by id for no key update;
    return query
        with toggle as (
            select t.k, t.user_id, t.post_id, p.post_row, p.count_before, l.like_row,
                   row_number() over (partition by t.user_id, t.post_id order by t.k) as nth
            from unnest(p_users, p_posts) with ordinality as t(user_id, post_id, k)
            left join lateral (select ctid as post_row, posts.like_count as count_before from posts
                               where id = t.post_id limit 1) p on true
            left join lateral (select ctid as like_row from likes
                               where likes.user_id = t.user_id and likes.post_id = t.post_id limit 1) l on true
        ),
        outcome as (
            select k, user_id, post_id, post_row, count_before, like_row,
                   case when post_row is not null then (like_row is not null) <> (nth % 2 = 1) end as liked_after
            from toggle
        ),
        counted as (
            select k, post_row, count_before, liked_after,
                   case when post_row is not null then
                       greatest(count_before + sum(case when liked_after then 1 else -1 end)
                                                   over (partition by post_id order by k), 0)
                   end as count_after
            from outcome
        ),
        -- The state each (user, post) pair ends in: its last toggle's.
        settled as (
            select distinct on (user_id, post_id) user_id, post_id, like_row, liked_after
            from outcome
            where post_row is not null
            order by user_id, post_id, k desc
        ),
        unliked as (
            delete from likes
            where ctid = any (array(select like_row from settled where like_row is not null and not liked_after))
            returning 1
        ),
        newly_liked as (
            insert into likes (user_id, post_id)
            select user_id, post_id from settled where like_row is null and liked_after
            returning 1
        ),
        -- Each post's count after the group: its last toggle's.
        recount as (
            select distinct on (post_row) post_row, count_before, count_after
            from counted
            where post_row is not null
            order by post_row, k desc
        ),
        recounted as (
            update posts p
            set like_count = (select r.count_after from recount r where r.post_row = p.ctid)
            where p.ctid = any (array(select post_row from recount where count_after <> count_before))
            returning 1
        )
        select c.liked_after, c.count_after from counted c order by c.k;
end;
$$;

-- Plans its statements once per connection: see the comment of sql/007_toggle_plans.sql.
-- `create or replace` drops the setting, so it is said again here, every time.
alter function toggle_likes(bigint[], bigint[]) set plan_cache_mode = force_generic_plan;
