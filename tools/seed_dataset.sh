#!/usr/bin/env bash
# Fills the posts data set with the PostgreSQL functions of sql/functions/seed_*.sql, in
# stages, printing the time of each stage and the table sizes after it.
#
#   tools/seed_dataset.sh                  100,000 users; 100k -> 500k -> 1M -> 2M posts
#   tools/seed_dataset.sh 100000 50000     other stages (posts in all after each one)
#   USERS=1000 tools/seed_dataset.sh 5000  a small one
#
# Each stage tops the posts table up to its size (posts already there count, so running
# it again adds nothing), split into SEED_SESSIONS parts (default: one per core) that
# insert at the same time. When the run at least doubles the posts, the search ranking's
# key is dropped first and built once after the last stage (on exit in any case): run it
# on a quiet database. Uses TRACKER_PG_DSN (see tools/dev.sh env).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# Keeps a TRACKER_PG_DSN already set; otherwise the local development database.
eval "$("$REPO_ROOT/tools/dev.sh" env)"
USERS=${USERS:-100000}
SEED_SESSIONS=${SEED_SESSIONS:-$(nproc)}
STAGES=("$@")
((${#STAGES[@]} > 0)) || STAGES=(100000 500000 1000000 2000000)
for n in "$USERS" "$SEED_SESSIONS" "${STAGES[@]}"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "seed_dataset.sh: not a number: $n" >&2; exit 2; }
done

psql_run() { psql -X -q -v ON_ERROR_STOP=1 "$TRACKER_PG_DSN" "$@"; }
now_ms() { date +%s%3N; }

sizes() {
    psql_run -tA -F '|' -c "
        select pg_size_pretty(pg_total_relation_size('users')),
               pg_size_pretty(pg_total_relation_size('posts')),
               pg_size_pretty(pg_relation_size('posts')),
               pg_size_pretty(pg_indexes_size('posts')),
               pg_size_pretty(pg_total_relation_size('post_hashtags')),
               (select count(*) from posts)"
}

psql_run -tAc "select to_regprocedure('seed_posts(int,bigint,bigint,bigint)') is not null" | grep -qx t ||
    { echo "seed_dataset.sh: function seed_posts missing; run tools/dev.sh migrate" >&2; exit 1; }
((SEED_SESSIONS >= 1)) || SEED_SESSIONS=1
seconds_since() { bc -l <<<"($(now_ms) - $1)/1000"; }
post_count() { psql_run -tAc "select count(*) from posts"; }

echo "seeding ${USERS} users, posts in stages: ${STAGES[*]} (${SEED_SESSIONS} sessions)"
total_started=$(now_ms)
psql_run -tAc "select seed_users(${USERS})" >/dev/null

# The ranking's key goes when this run at least doubles the posts; whatever happens next,
# it is there again when the script ends.
have=$(post_count)
last=0
for target in "${STAGES[@]}"; do
    if ((target > last)); then last=$target; fi
done
key_dropped=0
build_key() {
    ((key_dropped)) || return 0
    key_dropped=0
    local started
    started=$(now_ms)
    psql_run -tAc "select seed_ranking_key(true)" >/dev/null
    printf '%-10s %9.2f\n' "ranking" "$(seconds_since "$started")"
}
trap build_key EXIT
if ((last > have && (last - have) * 2 >= have)); then
    psql_run -tAc "select seed_ranking_key(false)" >/dev/null
    key_dropped=1
fi

printf '%-10s %9s   %-10s %-12s %-10s %-10s %-10s\n' stage seconds users posts+idx heap indexes ranking
for target in "${STAGES[@]}"; do
    started=$(now_ms)
    add=$((target - $(post_count)))
    pids=()
    for ((part = 0; add > 0 && part < SEED_SESSIONS; part++)); do
        first=$((add * part / SEED_SESSIONS + 1))
        part_last=$((add * (part + 1) / SEED_SESSIONS))
        ((first <= part_last)) || continue
        psql_run -tAc "select seed_posts(${USERS}, ${first}, ${part_last}, ${add})" >/dev/null &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || { echo "seed_dataset.sh: a part of stage ${target} failed" >&2; exit 1; }
    done
    IFS='|' read -r users_size posts_size heap_size index_size ranking_size count < <(sizes)
    printf '%-10s %9.2f   %-10s %-12s %-10s %-10s %-10s (%s posts)\n' "$target" "$(seconds_since "$started")" \
        "$users_size" "$posts_size" "$heap_size" "$index_size" "$ranking_size" "$count"
done
build_key

started=$(now_ms)
psql_run -tAc "select seed_statistics()" >/dev/null
printf '%-10s %9.2f\n' "statistics" "$(seconds_since "$started")"
loaded_ms=$(( $(now_ms) - total_started ))

# Marks the pages all-visible, so that searches read the ranking's index alone.
started=$(now_ms)
psql_run -c "vacuum posts, post_hashtags"
vacuum_ms=$(( $(now_ms) - started ))
printf 'vacuum     %9.2f\n' "$(bc -l <<<"$vacuum_ms/1000")"
printf 'total      %9.2f   (stages, ranking and statistics %.2f s + vacuum %.2f s)\n' \
    "$(bc -l <<<"($loaded_ms+$vacuum_ms)/1000")" "$(bc -l <<<"$loaded_ms/1000")" "$(bc -l <<<"$vacuum_ms/1000")"
