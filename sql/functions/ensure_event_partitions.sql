-- ensure_event_partitions(p_from, p_days)
--   Creates the daily partitions events_pYYYYMMDD covering
--   [day 00:00 UTC, day+1 00:00 UTC) for day in p_from .. p_from + p_days - 1,
--   skipping those that exist. Returns how many were created.
--
--   Rows of that day already sitting in events_default are moved into the
--   new partition (otherwise attaching it would fail). The new table is built
--   on its own and then attached, so the parent is never locked ACCESS
--   EXCLUSIVE and concurrent inserts into other days keep going.
create or replace function ensure_event_partitions(p_from date, p_days int)
returns int
language plpgsql
set search_path from current
as $$
declare
    v_day     date;
    v_lo      timestamptz;
    v_hi      timestamptz;
    v_name    text;
    v_created int := 0;
begin
    if p_from is null or p_days is null or p_days < 0 then
        raise exception 'ensure_event_partitions: bad arguments (%, %)', p_from, p_days;
    end if;

    -- One creator at a time (several server instances may call this).
    perform pg_advisory_xact_lock(hashtext('event-tracker:event-partitions'));

    for i in 0 .. p_days - 1 loop
        v_day  := p_from + i;
        v_name := 'events_p' || to_char(v_day, 'YYYYMMDD');
        continue when to_regclass(quote_ident(v_name)) is not null;

        v_lo := v_day::timestamp at time zone 'UTC';
        v_hi := (v_day + 1)::timestamp at time zone 'UTC';

        execute format(
            'create table %I (like events including defaults including constraints including storage)',
            v_name);
        -- Lets ATTACH skip scanning the new table; dropped once attached.
        execute format(
            'alter table %I add constraint %I check (server_time >= %L and server_time < %L)',
            v_name, v_name || '_bounds', v_lo, v_hi);

        -- Keep inserts out of the default partition while its rows for this
        -- day move (ATTACH takes this lock anyway).
        lock table events_default in access exclusive mode;
        execute format(
            'with moved as (delete from events_default where server_time >= %L and server_time < %L returning *)
             insert into %I select * from moved',
            v_lo, v_hi, v_name);

        execute format(
            'alter table events attach partition %I for values from (%L) to (%L)',
            v_name, v_lo, v_hi);
        execute format('alter table %I drop constraint %I', v_name, v_name || '_bounds');

        v_created := v_created + 1;
    end loop;
    return v_created;
end;
$$;
