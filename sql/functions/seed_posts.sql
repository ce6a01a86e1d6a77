-- ---------------------------------------------------------------------------
-- seed_posts(users, first, last, stage_size): posts first..last of a stage adding
-- stage_size posts (numbered 1..stage_size; the last one is the newest), authored by
-- users 1..users, 1 to 4 distinct hashtags of tag1..tag500 each
-- ---------------------------------------------------------------------------
-- The posts of a stage are spread over parts that run in sessions of their own; ids come
-- from the sequence, so the parts' ids interleave. The insert trigger (post_hashtags_add_created) adds each
-- part's ranking rows. Not durable until the commit's WAL is flushed (a data set can be
-- made again), which saves a WAL flush wait per part.
create or replace function seed_posts(p_users int, p_first bigint, p_last bigint, p_stage_size bigint)
returns bigint
language plpgsql
set search_path from current
as $$
declare
    v_added bigint;
begin
    if p_users is null or p_users < 1 or p_first is null or p_last is null or p_stage_size is null
       or p_first < 1 or p_last > p_stage_size then
        raise exception 'seed_posts: need users >= 1 and 1 <= first, last <= stage_size (got %, %, %, %)',
            p_users, p_first, p_last, p_stage_size;
    end if;
    perform pg_advisory_xact_lock_shared(hashtext('event-tracker:seed-dataset'));
    set local synchronous_commit = off;
    insert into posts (user_id, content, image_urls, hashtags, created_at, updated_at)
    select 1 + floor(random() * p_users)::bigint,
           'Post ' || g || ' about #' || t1 || ' from the data set',
           array['https://img.example.com/posts/' || g || '.jpg'],
           case tag_count when 1 then array[t1]
                          when 2 then array[t1, t2]
                          when 3 then array[t1, t2, t3]
                          else array[t1, t2, t3, t4] end,
           ts, ts
    from (
        -- Four distinct tags: steps of 1..124 from a random start never wrap past 500.
        select g, tag_count, ts,
               'tag' || (1 + b % 500) as t1,
               'tag' || (1 + (b + d1) % 500) as t2,
               'tag' || (1 + (b + d1 + d2) % 500) as t3,
               'tag' || (1 + (b + d1 + d2 + d3) % 500) as t4
        from (
            select g,
                   1 + floor(random() * 4)::int as tag_count,
                   floor(random() * 500)::int as b,
                   1 + floor(random() * 124)::int as d1,
                   1 + floor(random() * 124)::int as d2,
                   1 + floor(random() * 124)::int as d3,
                   now() - (p_stage_size - g) * interval '10 seconds' as ts
            from generate_series(p_first, p_last) g
        ) r
    ) s;
    get diagnostics v_added = row_count;
    return v_added;
end;
$$;
