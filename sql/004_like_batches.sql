-- 004_like_batches: the like toggles of concurrent requests in one statement and one
-- commit (the server groups the toggles that arrive during one turn of an I/O thread's
-- event loop). One commit, so one WAL flush, for the whole group: toggles stay durable
-- (synchronous_commit is not touched) at several times the rate of one commit each.

-- toggle_likes(users, posts) -> one row (liked, like_count) per toggle, in input order;
-- both null for a post that does not exist.
--
-- Every post of the group is locked first, in id order: groups running at the same time
-- lock their common posts in the same order, so they wait for each other instead of
-- deadlocking. Then the toggles run one after another, in the order given (the same
-- user toggling the same post twice in a group likes and unlikes it), each exactly as
-- toggle_like() does it: a like row and the count change together, the count never
-- goes below zero.
create function toggle_likes(p_users bigint[], p_posts bigint[])
returns table (liked boolean, like_count bigint)
language plpgsql
set search_path from current
as $$
#variable_conflict use_column
declare
    v_locked bigint[];
begin
    if cardinality(p_users) is distinct from cardinality(p_posts) then
        raise exception 'toggle_likes: % users but % posts', cardinality(p_users), cardinality(p_posts);
    end if;
    select coalesce(array_agg(id), '{}') into v_locked
    from (select id from posts where id = any(p_posts) order by id for no key update) locked;
    for k in 1 .. coalesce(cardinality(p_users), 0) loop
        liked := null;
        like_count := null;
        if p_posts[k] = any(v_locked) then
            delete from likes where user_id = p_users[k] and post_id = p_posts[k];
            if found then
                update posts set like_count = greatest(like_count - 1, 0) where id = p_posts[k]
                returning false, like_count into liked, like_count;
            else
                insert into likes (user_id, post_id) values (p_users[k], p_posts[k]);
                update posts set like_count = like_count + 1 where id = p_posts[k]
                returning true, like_count into liked, like_count;
            end if;
        end if;
        return next;
    end loop;
end;
$$;
