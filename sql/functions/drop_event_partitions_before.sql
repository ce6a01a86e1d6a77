-- drop_event_partitions_before(p_before)
--   Drops the daily partitions events_pYYYYMMDD whose whole day lies before
--   p_before (that is, day < p_before). events_default is never touched.
--   Returns how many were dropped.
create or replace function drop_event_partitions_before(p_before date)
returns int
language plpgsql
set search_path from current
as $$
declare
    r         record;
    v_dropped int := 0;
begin
    if p_before is null then
        raise exception 'drop_event_partitions_before: p_before is null';
    end if;

    perform pg_advisory_xact_lock(hashtext('event-tracker:event-partitions'));

    for r in
        select c.oid::regclass as part, c.relname
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'events'::regclass
          and c.relname ~ '^events_p[0-9]{8}$'
        order by c.relname
    loop
        if to_date(substr(r.relname, 9), 'YYYYMMDD') < p_before then
            execute format('drop table %s', r.part);
            v_dropped := v_dropped + 1;
        end if;
    end loop;
    return v_dropped;
end;
$$;
