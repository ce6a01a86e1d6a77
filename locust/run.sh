#!/usr/bin/env bash
# Runs one of the clients' Locust scenarios headless against a server of its own and then
# checks the data.
#
#   locust/run.sh SCENARIO [--users N] [--minutes M] [--spawn-rate R] [--posts N]
#
#   events   the event mix: 500 users, CLICK / PAGE_VIEW / SEARCH / LIKE  (events_mix.py)
#   users    the user-service mix: 100 users, like toggles, hashtag searches,
#            CLICK / PAGE_VIEW on /api/users/events                        (user_service.py)
#   large    the user-service mix over 2,000,000 posts and 100,000 user ids,
#            1000 users, 10 minutes; the run's database is seeded first with
#            tools/seed_dataset.sh (hashtags tag1..tag500)               (large_plan.py)
#
# Defaults: 5 minutes (large: 10); --posts changes the posts created (users: 1000 through
# the API, large: 2000000 seeded); LT_USER_IDS and LT_KEYWORDS the user ids and hashtags.
# It builds the release tree and starts PostgreSQL (tools/dev.sh setup; SKIP_SETUP=1
# skips that), starts its own Redis, database and server on spare loopback ports
# (bench/lib/stack.sh; STACK_KEEP_DB=1 keeps the database afterwards), runs
# `locust --headless`, and writes locust/reports/SCENARIO-TIME_{stats,failures,...}.csv,
# .html, .log (the printed summary is final; the CSV is Locust's last periodic write, up
# to a second earlier), .tally.json (every answer, by request and status) and
# .server-latency.txt (the server's own latency for the run, from /metrics).
# Then it checks that the events the server acknowledged equal the rows PostgreSQL holds
# for the run and the statistics API's counts (user-service mixes: also one LIKE/UNLIKE
# row per toggle and one SEARCH row per search answered 2xx), and prints PASS or FAIL
# (exit code 0 or 1). The user-service scenarios are skipped (exit 0) while the server
# has no /api/posts.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd -P)"
ROOT="$(dirname "$HERE")"
source "$ROOT/bench/lib/stack.sh"

scenario=${1:-}
[[ $scenario == events || $scenario == users || $scenario == large ]] || {
  sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
shift
case $scenario in
  events) users=500; minutes=5; file=events_mix.py; posts=0 ;;
  users)  users=100; minutes=5; file=user_service.py; posts=1000 ;;
  large)  users=1000; minutes=10; file=large_plan.py; posts=2000000 ;;
esac
spawn_rate=""
while (($#)); do
  case $1 in
    --users) users=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --spawn-rate) spawn_rate=$2; shift 2 ;;
    --posts) posts=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60 + 0.5); print (s < 1 ? 1 : s) }')
spawn_rate=${spawn_rate:-$(( users < 100 ? users : 100 ))}

if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$ROOT/tools/dev.sh" env)"
command -v locust >/dev/null || { echo "locust not found (Debian: python3-locust; tools/dev.sh setup installs it)" >&2; exit 1; }

mkdir -p "$HERE/reports"
stamp=$(date -u +%Y%m%d-%H%M%S)
report="$HERE/reports/$scenario-$stamp"
run_id="$stamp-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work=$(mktemp -d /tmp/locust-run.XXXXXX)
trap 'stack_stop; rm -rf "$work"' EXIT

stack_start "$report.server.log" --flusher=true
echo "server $STACK_URL (pid $STACK_PID), its own Redis on port $STACK_REDIS_PORT and database: $STACK_PG_DSN"
export TRACKER_PG_DSN=$STACK_PG_DSN  # for check_run.py

if [[ $scenario != events ]]; then
  probe=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$STACK_URL/api/posts")
  if [[ $probe == 404 ]]; then
    echo "SKIP: POST /api/posts answers 404 -- this server has no posts API yet, so the $scenario scenario cannot run"
    exit 0
  fi
fi

# Users send for $seconds s and then idle; Locust stops 5 s later, so that no request is
# cut off (Locust ends a run by killing its users).
export LT_RUN_ID=$run_id LT_TALLY_FILE="$work/tally.json" LT_SECONDS=$seconds
if [[ $scenario == large && -z ${LT_POST_RANGE:-} ]]; then
  echo "seeding ${LT_USER_IDS:-100000} users and $posts posts into the run's database (tools/seed_dataset.sh) ..."
  TRACKER_PG_DSN=$STACK_PG_DSN USERS=${LT_USER_IDS:-100000} "$ROOT/tools/seed_dataset.sh" "$posts"
  LT_POST_RANGE=$(psql -X -qtA "$STACK_PG_DSN" -c "select min(id) || '..' || max(id) from posts")
  echo "posts $LT_POST_RANGE"
fi
[[ -n ${LT_POST_RANGE:-} ]] && export LT_POST_RANGE
export LT_POSTS=$posts

/usr/bin/python3 "$HERE/check_run.py" snapshot --base "$STACK_URL" --scenario "$scenario" --out "$work/before.json"
since=$(date +%s)
curl -fs "$STACK_URL/metrics" > "$work/before.metrics"

echo "locust: $scenario, $users users (spawn $spawn_rate/s), ${seconds}s, run id $run_id"
set +e
locust -f "$HERE/$file" --headless --host "$STACK_URL" -u "$users" -r "$spawn_rate" -t "$((seconds + 5))s" \
  --stop-timeout 30 --csv "$report" --html "$report.html" --only-summary --exit-code-on-error 1 \
  --loglevel WARNING 2>&1 | tee "$report.log"
locust_rc=${PIPESTATUS[0]}
set -e
curl -fs "$STACK_URL/metrics" > "$work/after.metrics"
[[ -f $LT_TALLY_FILE ]] || { echo "FAIL: Locust wrote no tally ($LT_TALLY_FILE)"; exit 1; }
cp "$LT_TALLY_FILE" "$report.tally.json"

/usr/bin/python3 "$HERE/check_run.py" server-latency --before "$work/before.metrics" --after "$work/after.metrics" |
  tee "$report.server-latency.txt"

echo
echo "== data check (run id $run_id) =="
check_rc=0
/usr/bin/python3 "$HERE/check_run.py" verify --base "$STACK_URL" --scenario "$scenario" \
  --tally "$LT_TALLY_FILE" --before "$work/before.json" --since "$since" --fresh | tee "$report.check.txt" || check_rc=$?

echo
echo "reports: $report.html, ${report}_stats.csv, ${report}_failures.csv, $report.check.txt"
if ((locust_rc == 0 && check_rc == 0)); then
  echo "PASS: $scenario: no request failed, and the data matches"
  exit 0
fi
((locust_rc != 0)) && echo "FAIL: Locust recorded failures (exit code $locust_rc; see ${report}_failures.csv)"
((check_rc != 0)) && echo "FAIL: the data check failed (see above)"
exit 1
