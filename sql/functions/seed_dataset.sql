-- ---------------------------------------------------------------------------
-- seed_dataset(users, posts): the whole seeding in one call and one session
-- ---------------------------------------------------------------------------
-- Tops posts up to `posts`, dropping the ranking's key first (and building
-- it afterwards) when that adds at least half as many posts as there are.
create or replace procedure seed_dataset(p_users int, p_posts int)
language plpgsql
as $$
declare
    v_have    bigint;
    v_add     bigint;
    v_step    timestamptz := clock_timestamp();
    v_steps   text := '';
begin
    if p_users is null or p_posts is null or p_users < 1 or p_posts < 0 then
        raise exception 'seed_dataset: need users >= 1 and posts >= 0 (got %, %)', p_users, p_posts;
    end if;
    perform seed_users(p_users);
    v_steps := v_steps || format(' users %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    v_step := clock_timestamp();

    select count(*) into v_have from posts;
    v_add := p_posts - v_have;
    if v_add > 0 then
        if v_add * 2 >= v_have then
            perform seed_ranking_key(false);
        end if;
        perform seed_posts(p_users, 1, v_add, v_add);
        v_steps := v_steps || format(', posts %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
        v_step := clock_timestamp();
    end if;
    -- Also builds a key that an interrupted seeding left dropped.
    if seed_ranking_key(true) then
        v_steps := v_steps || format(', ranking key %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
        v_step := clock_timestamp();
    end if;

    perform seed_statistics();
    v_steps := v_steps || format(', statistics %s ms', round(extract(epoch from clock_timestamp() - v_step) * 1000));
    raise notice 'seed_dataset(%, %): added % posts;%', p_users, p_posts, greatest(v_add, 0), v_steps;
end;
$$;
