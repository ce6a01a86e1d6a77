#!/usr/bin/env bash
# Fills the posts data set with the PostgreSQL procedure seed_dataset (sql/005_search_ranking.sql),
# in stages, printing the time of each stage and the table sizes after it.
#
#   tools/seed_dataset.sh                  100,000 users; 100k -> 500k -> 1M -> 2M posts
#   tools/seed_dataset.sh 100000 50000     other stages (posts in all after each one)
#   USERS=1000 tools/seed_dataset.sh 5000  a small one
#
# Each stage tops the posts table up to its size (posts already there count, so running
# it again adds nothing). Large stages rebuild the search ranking's key and lock posts
# meanwhile: run it on a quiet database. Uses TRACKER_PG_DSN (see tools/dev.sh env).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# Keeps a TRACKER_PG_DSN already set; otherwise the local development database.
eval "$("$REPO_ROOT/tools/dev.sh" env)"
USERS=${USERS:-100000}
STAGES=("$@")
((${#STAGES[@]} > 0)) || STAGES=(100000 500000 1000000 2000000)
for n in "$USERS" "${STAGES[@]}"; do
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

psql_run -tAc "select to_regprocedure('seed_dataset(int,int)') is not null" | grep -qx t ||
    { echo "seed_dataset.sh: procedure seed_dataset missing; run tools/dev.sh migrate" >&2; exit 1; }

echo "seeding ${USERS} users, posts in stages: ${STAGES[*]}"
printf '%-10s %9s   %-10s %-12s %-10s %-10s %-10s\n' stage seconds users posts+idx heap indexes ranking
total_started=$(now_ms)
for target in "${STAGES[@]}"; do
    started=$(now_ms)
    psql_run -c "call seed_dataset(${USERS}, ${target})" 2>&1 | sed 's/^.*NOTICE: */  /'
    elapsed=$(( $(now_ms) - started ))
    IFS='|' read -r users_size posts_size heap_size index_size ranking_size count < <(sizes)
    printf '%-10s %9.2f   %-10s %-12s %-10s %-10s %-10s (%s posts)\n' "$target" "$(bc -l <<<"$elapsed/1000")" \
        "$users_size" "$posts_size" "$heap_size" "$index_size" "$ranking_size" "$count"
done
loaded_ms=$(( $(now_ms) - total_started ))

# Marks the pages all-visible, so that searches read the ranking's index alone.
started=$(now_ms)
psql_run -c "vacuum posts, post_hashtags"
vacuum_ms=$(( $(now_ms) - started ))
printf 'vacuum     %9.2f\n' "$(bc -l <<<"$vacuum_ms/1000")"
printf 'total      %9.2f   (stages %.2f s + vacuum %.2f s)\n' "$(bc -l <<<"($loaded_ms+$vacuum_ms)/1000")" \
    "$(bc -l <<<"$loaded_ms/1000")" "$(bc -l <<<"$vacuum_ms/1000")"
