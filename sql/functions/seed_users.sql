-- ---------------------------------------------------------------------------
-- seed_users(users): users 1..users (those missing)
-- ---------------------------------------------------------------------------
create or replace function seed_users(p_users int)
returns bigint
language plpgsql
set search_path from current
as $$
declare
    v_first bigint;
    v_added bigint;
begin
    if p_users is null or p_users < 1 then
        raise exception 'seed_users: need users >= 1 (got %)', p_users;
    end if;
    perform pg_advisory_xact_lock_shared(hashtext('event-tracker:seed-dataset'));
    select coalesce(max(id), 0) + 1 into v_first from users;
    insert into users (id, name, created_at)
    select g, 'user-' || g, now() - (p_users - g) * interval '5 minutes'
    from generate_series(v_first, p_users) g;
    get diagnostics v_added = row_count;
    return v_added;
end;
$$;
