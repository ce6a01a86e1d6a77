-- ---------------------------------------------------------------------------
-- seed_ranking_key(present): drops (false) or builds (true) post_hashtags' key, if it
-- is not already so; returns whether it changed anything
-- ---------------------------------------------------------------------------
-- Building the key once over the finished ranking is several times cheaper than
-- inserting into it row by row, and than building it again after every stage. With the
-- memory to sort 5 million ranking rows without spilling to disk (the local
-- set-up's 512 MB is shared by the build's two processes): 0.9x the time.
create or replace function seed_ranking_key(p_present boolean)
returns boolean
language plpgsql
set search_path from current
set maintenance_work_mem = '1GB'
as $$
begin
    perform pg_advisory_xact_lock(hashtext('event-tracker:seed-dataset'));
    if p_present = (to_regclass('post_hashtags_pkey') is not null) then
        return false;
    end if;
    if p_present then
        alter table post_hashtags add constraint post_hashtags_pkey
            primary key (tag_hash, like_count, created_at, post_id) include (hashtag);
    else
        alter table post_hashtags drop constraint post_hashtags_pkey;
    end if;
    return true;
end;
$$;
