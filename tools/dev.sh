#!/usr/bin/env bash
# Local development entry point for event-tracker.
#
#   tools/dev.sh setup        install missing Debian packages, build release,
#                             start Redis + PostgreSQL, apply migrations
#   tools/dev.sh services     start Redis + PostgreSQL and migrate (no build)
#   tools/dev.sh run [ARGS]   setup, then run the server in the foreground (creates a
#                             development write key and read key once and prints them)
#   tools/dev.sh keys         print the development API keys (creates them if needed)
#   tools/dev.sh test [ARGS]  setup, a brief run of every fuzz harness (tools/fuzz.sh),
#                             then ctest --preset release (extra ARGS go to ctest)
#                             against a Redis and a database of the tests' own
#                             (port TRACKER_REDIS_PORT+1 under .data/test/, database
#                             tracker_test made anew), so the development data is untouched
#                             and, for the *_clustertest.cpp tests, a Redis Cluster of
#                             their own (base port TRACKER_REDIS_CLUSTER_BASE_PORT+10,
#                             under .data/test/cluster/), stopped at the end
#   tools/dev.sh stop         stop Redis and PostgreSQL
#   tools/dev.sh cluster-start | cluster-stop
#                             start/stop a local Redis Cluster, 3 masters + 3 replicas
#                             under .data/cluster/ (ports from TRACKER_REDIS_CLUSTER_BASE_PORT,
#                             default 53001); while it runs, `env` prints TRACKER_REDIS_CLUSTER
#   tools/dev.sh redis-start | redis-stop | pg-start | pg-stop
#                             start/stop one service (fast; for fault-injection tests)
#   tools/dev.sh migrate      apply pending sql/NNN_*.sql migrations
#   tools/dev.sh status       show whether the services are up
#   tools/dev.sh env          print the TRACKER_* variables as shell exports
#   tools/dev.sh psql [ARGS]  psql into the tracker database
#   tools/dev.sh redis-cli [ARGS]
#
# Works from any directory. Safe to run repeatedly: data under .data/ and
# running services are reused.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"

# The repository root is where this script lives; other TRACKER_* values
# already in the environment are kept (see tools/lib/services.sh).
export TRACKER_REPO_ROOT="$REPO_ROOT"
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
source "$REPO_ROOT/tools/lib/services.sh"

BUILD_JOBS=2
export CMAKE_BUILD_PARALLEL_LEVEL="${BUILD_JOBS}"

REQUIRED_PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libhiredis-dev libpq-dev libspdlog-dev zlib1g-dev libssl-dev libmimalloc-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    redis-server postgresql-15 postgresql-client-15
    python3-pytest python3-redis python3-psycopg2 python3-requests
    python3-hypothesis python3-jsonschema python3-yaml
    wrk nginx-light procps bc curl python3-locust gnuplot-nox
    chromium chromium-driver python3-selenium prometheus nodejs
    clang-16 libfuzzer-16-dev libclang-rt-16-dev
)

usage() {
    sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# Serialise service start/stop between concurrent invocations. The lock is
# held only for the duration of the given function, never across a build,
# a test run or the server itself.
with_lock() {
    mkdir -p "${TRACKER_DATA_DIR}"
    (
        flock -w 300 "${SVC_LOCK_FD}" ||
            svc_die "another tools/dev.sh holds ${TRACKER_DATA_DIR}/.dev.lock for 300s"
        "$@"
    ) 9>"${TRACKER_DATA_DIR}/.dev.lock"
}

install_packages() {
    local -a missing=()
    local p
    for p in "${REQUIRED_PACKAGES[@]}"; do
        if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed$'; then
            missing+=("$p")
        fi
    done
    if ((${#missing[@]} == 0)); then
        svc_log "all required Debian packages are installed"
        return 0
    fi
    svc_log "installing missing packages: ${missing[*]}"
    local -a sudo=()
    if [[ ${EUID} -ne 0 ]]; then
        command -v sudo >/dev/null ||
            svc_die "not root and no sudo; install these packages first: ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
}

build_release() {
    svc_log "building release (${BUILD_JOBS} jobs)"
    cmake --preset release
    cmake --build --preset release --parallel "${BUILD_JOBS}"
}

services_up() {
    redis_start
    pg_start
    migrate
}

services_down() {
    TRACKER_DATA_DIR="${TRACKER_DATA_DIR}/test" TRACKER_REDIS_PORT="${TEST_REDIS_PORT}" \
        "${REPO_ROOT}/tools/dev.sh" redis-stop
    redis_stop
    pg_stop
}

# The tests' own stores: a Redis beside the development one and a fresh database in the
# same PostgreSQL cluster. The suite fills them with hundreds of thousands of events that
# `tools/dev.sh run` must not show as real data.
TEST_REDIS_PORT=$((TRACKER_REDIS_PORT + 1))
TEST_PG_DSN="$(printf '%s\n' ${TRACKER_PG_DSN} | grep -v '^dbname=' | tr '\n' ' ')dbname=tracker_test"

test_services_up() {
    TRACKER_DATA_DIR="${TRACKER_DATA_DIR}/test" TRACKER_REDIS_PORT="${TEST_REDIS_PORT}" \
        "${REPO_ROOT}/tools/dev.sh" redis-start
    svc_log "creating a fresh database tracker_test"
    _psql_local -d postgres -c "drop database if exists tracker_test with (force)" \
        -c "create database tracker_test"
    TRACKER_PG_DSN="${TEST_PG_DSN}" migrate
}

do_setup() {
    install_packages
    build_release
    with_lock services_up
}

status() {
    if redis_running; then
        echo "redis:      up   127.0.0.1:${TRACKER_REDIS_PORT}"
    else
        echo "redis:      down (port ${TRACKER_REDIS_PORT})"
    fi
    if pg_running; then
        echo "postgresql: up   127.0.0.1:${TRACKER_PG_PORT}"
    else
        echo "postgresql: down (port ${TRACKER_PG_PORT})"
    fi
    services_env
}

print_env() {
    local v
    for v in TRACKER_REPO_ROOT TRACKER_DATA_DIR TRACKER_SERVER_BIN TRACKER_REDIS_HOST \
             TRACKER_REDIS_PORT TRACKER_REDIS_APPENDFSYNC TRACKER_PG_PORT TRACKER_PG_DSN \
             TRACKER_REDIS_CLUSTER_BASE_PORT; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    # The value --redis-cluster takes, only while the local cluster runs.
    local seeds
    if seeds="$(cluster_seeds 2>/dev/null)" && [[ -n "$seeds" ]]; then
        printf 'export TRACKER_REDIS_CLUSTER=%q\n' "$seeds"
    fi
}

# The development write and read keys, made once with `event-tracker keys create` and kept
# in .data/dev-keys (scope=key lines); made again when the database no longer has them.
DEV_KEYS="${TRACKER_DATA_DIR}/dev-keys"

dev_key_active() {
    [[ "$(psql -X -tAq "${TRACKER_PG_DSN}" -c \
        "select count(*) from api_keys where revoked_at is null and hash = sha256(convert_to('$1', 'UTF8'))")" == 1 ]]
}

dev_keys() {
    local scope key ok=1
    if [[ -s "${DEV_KEYS}" ]]; then
        for scope in write read; do
            key="$(sed -n "s/^${scope}=//p" "${DEV_KEYS}")"
            [[ -n "$key" ]] && dev_key_active "$key" || ok=0
        done
    else
        ok=0
    fi
    if ((ok == 0)); then
        [[ -x "${TRACKER_SERVER_BIN}" ]] || svc_die "server binary not found: ${TRACKER_SERVER_BIN}"
        local stamp; stamp="$(date +%Y%m%d%H%M%S)"
        : >"${DEV_KEYS}.new"
        for scope in write read; do
            key="$("${TRACKER_SERVER_BIN}" keys create --scope="${scope}" --name="dev-${scope}-${stamp}" | tail -n 1)" ||
                svc_die "could not create the development ${scope} key"
            echo "${scope}=${key}" >>"${DEV_KEYS}.new"
        done
        chmod 600 "${DEV_KEYS}.new"
        mv "${DEV_KEYS}.new" "${DEV_KEYS}"
    fi
    svc_log "development API keys (${DEV_KEYS}):"
    svc_log "  write (X-Api-Key):             $(sed -n 's/^write=//p' "${DEV_KEYS}")"
    svc_log "  read  (Authorization: Bearer): $(sed -n 's/^read=//p' "${DEV_KEYS}")"
    svc_log "  dashboard: http://localhost:8080/#key=$(sed -n 's/^read=//p' "${DEV_KEYS}")"
}

cmd="${1:-help}"
(($# > 0)) && shift

case "$cmd" in
    setup)       do_setup ;;
    services)    with_lock services_up ;;
    run)
        do_setup
        [[ -x "${TRACKER_SERVER_BIN}" ]] || svc_die "server binary not found: ${TRACKER_SERVER_BIN}"
        dev_keys
        svc_log "starting ${TRACKER_SERVER_BIN}"
        exec "${TRACKER_SERVER_BIN}" "$@"
        ;;
    test)
        do_setup
        "$REPO_ROOT/tools/fuzz.sh" --smoke
        with_lock test_services_up
        export TRACKER_REDIS_PORT="${TEST_REDIS_PORT}" TRACKER_PG_DSN="${TEST_PG_DSN}"
        # The cluster tests' own cluster, beside the development one.
        export TRACKER_REDIS_CLUSTER_BASE_PORT=$((TRACKER_REDIS_CLUSTER_BASE_PORT + 10))
        CLUSTER_DIR="${TRACKER_DATA_DIR}/test/cluster"
        with_lock cluster_start
        TRACKER_REDIS_CLUSTER="$(cluster_seeds)"
        export TRACKER_REDIS_CLUSTER
        test_status=0
        ctest --preset release --output-on-failure "$@" || test_status=$?
        with_lock cluster_stop
        exit "${test_status}"
        ;;
    stop)        with_lock services_down ;;
    cluster-start) with_lock cluster_start ;;
    cluster-stop)  with_lock cluster_stop ;;
    redis-start) with_lock redis_start ;;
    redis-stop)  with_lock redis_stop ;;
    pg-start)    with_lock pg_start ;;
    pg-stop)     with_lock pg_stop ;;
    migrate)     with_lock migrate ;;
    keys)        dev_keys ;;
    status)      status ;;
    env)         print_env ;;
    psql)        exec psql "${TRACKER_PG_DSN}" "$@" ;;
    redis-cli)   exec redis-cli -h "${TRACKER_REDIS_HOST}" -p "${TRACKER_REDIS_PORT}" "$@" ;;
    help | -h | --help) usage ;;
    *)
        usage >&2
        svc_die "unknown command: $cmd"
        ;;
esac
