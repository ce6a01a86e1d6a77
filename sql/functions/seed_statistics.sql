-- ---------------------------------------------------------------------------
-- seed_statistics(): planner statistics of the seeded tables
-- ---------------------------------------------------------------------------
create or replace function seed_statistics()
returns void
language plpgsql
set search_path from current
as $$
begin
    analyze users;
    analyze posts;
    analyze post_hashtags;
end;
$$;
