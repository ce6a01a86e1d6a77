-- 004_like_batches: the like toggles of concurrent requests in one statement and one
-- commit (the server groups the toggles that arrive during one turn of an I/O thread's
-- event loop). One commit, so one WAL flush, for the whole group: toggles stay durable
-- (synchronous_commit is not touched) at several times the rate of one commit each.

