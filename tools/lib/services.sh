# shellcheck shell=bash
# Local Redis 7 and PostgreSQL 15 for development, tests and benchmarks.
#
# Source this file from bash; it defines:
#   redis_start redis_stop redis_running
#   pg_start    pg_stop    pg_running
#   migrate     pg_ensure_database   services_env
#   cluster_start cluster_stop cluster_running cluster_seeds
#
# Everything lives under $TRACKER_DATA_DIR (default: <repo>/.data):
#   redis/  redis.conf, redis.pid, redis.log, appendonlydir/
#   pg/     PostgreSQL cluster (postgresql.log inside it)
#   cluster/<port>/  one directory per Redis Cluster node (redis.conf, nodes.conf, AOF)
#
# PostgreSQL refuses to run as root. When this runs as root the cluster is
# owned by and run as user "nobody". If "nobody" cannot reach the data folder
# (e.g. the repository sits below a 0700 directory) the cluster goes to
# /tmp/event-tracker-pg-<hash of repo path> instead, with a warning.

# ---------------------------------------------------------------------------
# Settings (values already in the environment win)
# ---------------------------------------------------------------------------
if [[ -z "${TRACKER_REPO_ROOT:-}" ]]; then
    TRACKER_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
fi
: "${TRACKER_DATA_DIR:=${TRACKER_REPO_ROOT}/.data}"
: "${TRACKER_REDIS_HOST:=127.0.0.1}"
: "${TRACKER_REDIS_PORT:=56379}"
: "${TRACKER_PG_PORT:=55432}"
# When Redis fsyncs its AOF: everysec (the default) or always. See docs/DURABILITY.md.
: "${TRACKER_REDIS_APPENDFSYNC:=everysec}"
: "${TRACKER_PG_DSN:=host=127.0.0.1 port=${TRACKER_PG_PORT} user=tracker dbname=tracker}"
: "${TRACKER_SERVER_BIN:=${TRACKER_REPO_ROOT}/build/release/event-tracker}"
# The local Redis Cluster's six nodes take six ports from here on, and each a bus port
# (port + 10000), so the base stays below 55530. The default keeps clear of the single
# Redis (56379, its test twin 56380) and PostgreSQL (55432), bus ports included; the
# test suite's cluster takes the six after the next four (base + 10).
: "${TRACKER_REDIS_CLUSTER_BASE_PORT:=53001}"
# Its shape: masters, and replicas per master (the ports are base .. base + masters x
# (1 + replicas) - 1). The tests want 3 and 1; bench/cluster_scale.sh compares 1 master
# with 3, without replicas.
: "${TRACKER_REDIS_CLUSTER_MASTERS:=3}"
: "${TRACKER_REDIS_CLUSTER_REPLICAS:=1}"
# The ingest module (src/redis/module, for --redis-ingest=module): every Redis started here
# loads it when it is built. Before the first build there is none, and Redis starts
# without it (the server's default, --redis-ingest=lua, needs none).
: "${TRACKER_REDIS_MODULE:=${TRACKER_REPO_ROOT}/build/release/redis/tracker_ingest.so}"
export TRACKER_REDIS_MODULE
export TRACKER_REPO_ROOT TRACKER_DATA_DIR TRACKER_REDIS_HOST TRACKER_REDIS_PORT \
       TRACKER_REDIS_APPENDFSYNC TRACKER_PG_PORT TRACKER_PG_DSN TRACKER_SERVER_BIN \
       TRACKER_REDIS_CLUSTER_BASE_PORT TRACKER_REDIS_CLUSTER_MASTERS TRACKER_REDIS_CLUSTER_REPLICAS

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER_DB="tracker"                  # superuser created by initdb
PG_SYSTEM_USER="nobody"               # runs the cluster when we are root
SVC_WAIT_SECONDS="${SVC_WAIT_SECONDS:-30}"

REDIS_DIR="${TRACKER_DATA_DIR}/redis"
REDIS_CONF="${REDIS_DIR}/redis.conf"
REDIS_PIDFILE="${REDIS_DIR}/redis.pid"
REDIS_LOG="${REDIS_DIR}/redis.log"

# Background daemons must not inherit the lock descriptor taken by dev.sh.
SVC_LOCK_FD=9

svc_log()  { printf '[dev] %s\n' "$*" >&2; }
svc_warn() { printf '[dev] WARNING: %s\n' "$*" >&2; }
svc_die()  { printf '[dev] ERROR: %s\n' "$*" >&2; exit 1; }

services_env() {
    cat <<EOF
TRACKER_REPO_ROOT=${TRACKER_REPO_ROOT}
TRACKER_DATA_DIR=${TRACKER_DATA_DIR}
TRACKER_SERVER_BIN=${TRACKER_SERVER_BIN}
TRACKER_REDIS_HOST=${TRACKER_REDIS_HOST}
TRACKER_REDIS_PORT=${TRACKER_REDIS_PORT}
TRACKER_REDIS_APPENDFSYNC=${TRACKER_REDIS_APPENDFSYNC}
TRACKER_PG_DSN=${TRACKER_PG_DSN}
EOF
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------
_redis_cli() { redis-cli -h 127.0.0.1 -p "${TRACKER_REDIS_PORT}" "$@"; }

# Quote a value for redis.conf (double quotes, backslash escapes).
_redis_quote() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# "no" is refused on purpose: it leaves the flush to the kernel (about 30 s), and what an
# acknowledgement promises is written down for everysec and always only.
_redis_check_appendfsync() {
    case "${TRACKER_REDIS_APPENDFSYNC}" in
        everysec | always) ;;
        *) svc_die "TRACKER_REDIS_APPENDFSYNC must be everysec or always, not '${TRACKER_REDIS_APPENDFSYNC}'" ;;
    esac
}

# The durability settings of every Redis here: the single one and each cluster node.
_redis_durability_conf() {
    cat <<EOF
# Durability: the event buffer lives here until it is flushed to PostgreSQL.
# appendfsync comes from TRACKER_REDIS_APPENDFSYNC (docs/DURABILITY.md says what each
# choice guarantees).
appendonly yes
appendfilename "appendonly.aof"
appenddirname "appendonlydir"
appendfsync ${TRACKER_REDIS_APPENDFSYNC}
aof-use-rdb-preamble yes
# The AOF grows fast under load (every event's row) while the data set stays small (the
# stream is drained), so a rewrite is cheap (a 6 MB base took 0.1 s) and what it saves
# is the replay at start-up: an 875 MB AOF took 40 s to load, during which ingestion
# answers 503. Rewrite at 128 MB (a few seconds of replay), with no CPU spent compressing.
auto-aof-rewrite-min-size 128mb
rdbcompression no
save ""

# Never silently drop buffered events.
maxmemory-policy noeviction
tcp-keepalive 60
EOF
}

_redis_module_conf() {
    if [[ -f "${TRACKER_REDIS_MODULE}" ]]; then
        echo "loadmodule $(_redis_quote "${TRACKER_REDIS_MODULE}")"
    else
        echo "# no loadmodule: ${TRACKER_REDIS_MODULE} is not built"
    fi
}

# A running Redis started before the module was built does not have it.
_redis_warn_module_missing() {
    local port=$1
    [[ -f "${TRACKER_REDIS_MODULE}" ]] || return 0
    if [[ "$(redis-cli -h 127.0.0.1 -p "$port" command info tracker.ingest 2>/dev/null | head -n 1)" != tracker.ingest ]]; then
        svc_warn "the Redis on port ${port} has not loaded ${TRACKER_REDIS_MODULE}; restart it to load it (--redis-ingest=module needs it)"
    fi
}

_redis_write_conf() {
    mkdir -p "${REDIS_DIR}"
    local tmp="${REDIS_CONF}.tmp.$$"
    cat >"$tmp" <<EOF
# Generated by tools/lib/services.sh -- edits are overwritten on every start.
bind 127.0.0.1
port ${TRACKER_REDIS_PORT}
protected-mode yes
daemonize yes
supervised no
pidfile $(_redis_quote "${REDIS_PIDFILE}")
logfile $(_redis_quote "${REDIS_LOG}")
loglevel notice
dir $(_redis_quote "${REDIS_DIR}")

$(_redis_durability_conf)
databases 16
$(_redis_module_conf)
EOF
    mv -f "$tmp" "${REDIS_CONF}"
}

# A zombie (exited, not yet reaped by its parent) counts as gone.
_pid_alive() {
    local st
    st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$st" && "$st" != Z* ]]
}

redis_running() {
    [[ "$(_redis_cli ping 2>/dev/null)" == "PONG" ]]
}

redis_start() {
    _redis_check_appendfsync
    if redis_running; then
        local dir fsync
        dir="$(_redis_cli config get dir 2>/dev/null | sed -n 2p)"
        if [[ -n "$dir" && "$dir" != "${REDIS_DIR}" ]]; then
            svc_warn "a Redis on port ${TRACKER_REDIS_PORT} is already running from ${dir}, not ${REDIS_DIR}; using it"
        else
            svc_log "Redis already running on 127.0.0.1:${TRACKER_REDIS_PORT}"
        fi
        fsync="$(_redis_cli config get appendfsync 2>/dev/null | sed -n 2p)"
        if [[ -n "$fsync" && "$fsync" != "${TRACKER_REDIS_APPENDFSYNC}" ]]; then
            svc_warn "that Redis runs appendfsync ${fsync}, not ${TRACKER_REDIS_APPENDFSYNC}; restart it to change (tools/dev.sh redis-stop)"
        fi
        _redis_warn_module_missing "${TRACKER_REDIS_PORT}"
        return 0
    fi
    command -v redis-server >/dev/null || svc_die "redis-server not found (run: tools/dev.sh setup)"
    _redis_write_conf
    svc_log "starting Redis on 127.0.0.1:${TRACKER_REDIS_PORT} (data: ${REDIS_DIR})"
    redis-server "${REDIS_CONF}" </dev/null >/dev/null 2>>"${REDIS_LOG}" {SVC_LOCK_FD}>&- ||
        svc_die "redis-server failed to start; see ${REDIS_LOG}"
    local i
    for ((i = 0; i < SVC_WAIT_SECONDS * 10; i++)); do
        if redis_running; then
            # Still loading the AOF answers -LOADING, not PONG, so this is ready.
            svc_log "Redis is up"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "${REDIS_LOG}" >&2 2>/dev/null || true
    svc_die "Redis did not answer PING on 127.0.0.1:${TRACKER_REDIS_PORT} within ${SVC_WAIT_SECONDS}s; see ${REDIS_LOG}"
}

redis_stop() {
    if ! redis_running; then
        svc_log "Redis is not running on 127.0.0.1:${TRACKER_REDIS_PORT}"
        return 0
    fi
    local pid=""
    [[ -f "${REDIS_PIDFILE}" ]] && pid="$(cat "${REDIS_PIDFILE}" 2>/dev/null || true)"
    svc_log "stopping Redis on 127.0.0.1:${TRACKER_REDIS_PORT}"
    # SHUTDOWN fsyncs the AOF before exiting. The connection drops on success.
    _redis_cli shutdown >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < SVC_WAIT_SECONDS * 10; i++)); do
        if ! redis_running && { [[ -z "$pid" ]] || ! _pid_alive "$pid"; }; then
            svc_log "Redis stopped"
            return 0
        fi
        sleep 0.1
    done
    svc_die "Redis on port ${TRACKER_REDIS_PORT} did not stop within ${SVC_WAIT_SECONDS}s"
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------
_is_root() { [[ ${EUID:-$(id -u)} -eq 0 ]]; }

# Run a command as the cluster owner, from "/" so the owner need not be able
# to reach the current directory.
_pg_as_owner() {
    if _is_root; then
        if command -v runuser >/dev/null; then
            (cd / && runuser -u "${PG_SYSTEM_USER}" -- "$@")
        else
            (cd / && setpriv --reuid="${PG_SYSTEM_USER}" --regid="$(id -g "${PG_SYSTEM_USER}")" \
                --clear-groups --reset-env -- "$@")
        fi
    else
        "$@"
    fi
}

_pg_fallback_dir() {
    local h
    h="$(printf '%s' "${TRACKER_REPO_ROOT}" | sha256sum | cut -c1-10)"
    printf '/tmp/event-tracker-pg-%s' "$h"
}

# Can the cluster owner create/traverse/write directory $1?
_pg_owner_can_use() {
    # shellcheck disable=SC2016  # $1 expands in the inner shell
    _pg_as_owner sh -c 'test -d "$1" && test -x "$1" && test -w "$1" && test -r "$1"' sh "$1" 2>/dev/null
}

# Make directory $1 exist, mode 0700, owned by the cluster owner. Refuses to
# adopt a path that is a symlink or owned by somebody else.
_pg_prepare_dir() {
    local d=$1
    if [[ -L "$d" ]]; then
        svc_die "$d is a symlink; refusing to use it as PostgreSQL data folder"
    fi
    if [[ ! -d "$d" ]]; then
        mkdir -p "$(dirname "$d")"
        mkdir -m 0700 "$d"
    fi
    if _is_root; then
        local owner
        owner="$(stat -c %U "$d")"
        if [[ "$owner" != "${PG_SYSTEM_USER}" ]]; then
            if [[ "$owner" == "root" ]]; then
                chown -R "${PG_SYSTEM_USER}:" "$d"
            else
                svc_die "$d is owned by '$owner'; expected '${PG_SYSTEM_USER}' (remove it or run as '$owner')"
            fi
        fi
    fi
    chmod 0700 "$d"
}

# Sets PGDATA_DIR (the cluster directory) and PG_LOG.
# With "probe" as $1 it only looks for an existing cluster (no creation).
_pg_resolve_datadir() {
    local mode=${1:-create}
    local primary="${TRACKER_DATA_DIR}/pg" fallback
    fallback="$(_pg_fallback_dir)"
    if [[ "$mode" == probe ]]; then
        if [[ -f "$primary/PG_VERSION" ]]; then
            PGDATA_DIR=$primary
        elif _is_root && [[ -f "$fallback/PG_VERSION" ]]; then
            PGDATA_DIR=$fallback
        else
            PGDATA_DIR=$primary
        fi
    else
        mkdir -p "${TRACKER_DATA_DIR}"
        _pg_prepare_dir "$primary"
        if _pg_owner_can_use "$primary"; then
            PGDATA_DIR=$primary
        elif _is_root; then
            # Leave no misleading empty folder behind.
            rmdir "$primary" 2>/dev/null || true
            svc_warn "user '${PG_SYSTEM_USER}' cannot reach ${primary} (a parent folder is not traversable)."
            svc_warn "PostgreSQL data goes to ${fallback} instead (it may not survive a reboot)."
            _pg_prepare_dir "$fallback"
            _pg_owner_can_use "$fallback" ||
                svc_die "user '${PG_SYSTEM_USER}' cannot use ${fallback} either"
            PGDATA_DIR=$fallback
        else
            svc_die "cannot write PostgreSQL data folder ${primary}"
        fi
    fi
    if [[ -d "${PGDATA_DIR}" ]]; then
        PGDATA_DIR="$(cd "${PGDATA_DIR}" && pwd -P)"
    fi
    PG_LOG="${PGDATA_DIR}/postgresql.log"
}

# Settings applied on every start (included from postgresql.conf).
_pg_write_conf() {
    local conf="${PGDATA_DIR}/tracker.conf" tmp
    tmp="${conf}.tmp.$$"
    cat >"$tmp" <<EOF
# Generated by tools/lib/services.sh -- edits are overwritten on every start.
# Local cluster for a 2-core / 24 GB machine doing bulk event ingest.
listen_addresses = '127.0.0.1'
port = ${TRACKER_PG_PORT}
unix_socket_directories = ''        # TCP on loopback only
max_connections = 100

# Memory
shared_buffers = 1GB
effective_cache_size = 12GB
work_mem = 16MB
maintenance_work_mem = 512MB
huge_pages = try

# WAL / checkpoints. Durability stays on: synchronous_commit, fsync and
# full_page_writes are left at their safe defaults.
synchronous_commit = on
fsync = on
full_page_writes = on
# Full-page images compressed with lz4, not pglz (what "on" means): building the search
# ranking's key of the 2M-post data set took 0.68x the time, and pglz_compress showed in
# profiles of like toggles.
wal_compression = lz4
wal_buffers = 16MB
max_wal_size = 4GB
min_wal_size = 512MB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9

# Two cores: keep parallelism modest.
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
max_parallel_maintenance_workers = 1

# Time is UTC everywhere (minute buckets and daily partitions are UTC).
timezone = 'UTC'
log_timezone = 'UTC'

# Logging goes to the file given to pg_ctl -l (postgresql.log in this folder).
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
log_checkpoints = on
log_lock_waits = on
EOF
    mv -f "$tmp" "$conf"
    _is_root && chown "${PG_SYSTEM_USER}:" "$conf"
    if ! grep -q "^include_if_exists = 'tracker.conf'" "${PGDATA_DIR}/postgresql.conf"; then
        printf "\n# Project settings (tools/lib/services.sh)\ninclude_if_exists = 'tracker.conf'\n" \
            >>"${PGDATA_DIR}/postgresql.conf"
    fi
}

_pg_initdb() {
    svc_log "initialising PostgreSQL cluster in ${PGDATA_DIR}"
    _pg_as_owner "${PG_BIN}/initdb" -D "${PGDATA_DIR}" -U "${PG_USER_DB}" --auth=trust \
        -E UTF8 --locale=C >/dev/null ||
        svc_die "initdb failed for ${PGDATA_DIR}"
}

_pg_ready() {
    "${PG_BIN}/pg_isready" -q -h 127.0.0.1 -p "${TRACKER_PG_PORT}" -U "${PG_USER_DB}" -d postgres
}

# True when the local cluster is up and accepting connections.
pg_running() {
    _pg_ready
}

# Working directory of a live process (postgres processes run inside PGDATA).
_proc_cwd() { readlink "/proc/$1/cwd" 2>/dev/null; }

# True when the PID in postmaster.pid is a live process of this cluster (even
# if not yet accepting connections). A dead or zombie PID, or one reused by
# an unrelated process, means the file is stale.
_pg_postmaster_alive() {
    local pid
    pid="$(head -n1 "${PGDATA_DIR}/postmaster.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    _pid_alive "$pid" && [[ "$(_proc_cwd "$pid")" == "${PGDATA_DIR}" ]]
}

# PIDs of live processes still running inside this cluster's data folder.
_pg_cluster_pids() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ "$(_proc_cwd "$pid")" == "${PGDATA_DIR}" ]] && _pid_alive "$pid" && printf '%s ' "$pid"
    done
    return 0
}

# After a crash (kill -9, OOM) postmaster.pid stays behind. PostgreSQL refuses
# to start while that PID still exists, which includes an unreaped zombie.
# Once no process of the old server is left, the file is removed.
_pg_clear_stale_pidfile() {
    [[ -f "${PGDATA_DIR}/postmaster.pid" ]] || return 0
    local i left=""
    for ((i = 0; i < SVC_WAIT_SECONDS * 10; i++)); do
        left="$(_pg_cluster_pids)"
        [[ -z "$left" ]] && break
        sleep 0.1
    done
    [[ -z "$left" ]] ||
        svc_die "processes of a previous PostgreSQL are still running in ${PGDATA_DIR}: ${left}"
    svc_warn "removing stale ${PGDATA_DIR}/postmaster.pid (previous server did not shut down cleanly)"
    rm -f "${PGDATA_DIR}/postmaster.pid"
}

_psql_local() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${TRACKER_PG_PORT}" -U "${PG_USER_DB}" "$@"
}

pg_ensure_database() {
    local exists
    exists="$(_psql_local -d postgres -tAc "select 1 from pg_database where datname = 'tracker'")"
    if [[ "$exists" != "1" ]]; then
        svc_log "creating database tracker"
        _psql_local -d postgres -c "create database tracker"
    fi
}

pg_start() {
    [[ -x "${PG_BIN}/pg_ctl" ]] || svc_die "PostgreSQL 15 not found in ${PG_BIN} (run: tools/dev.sh setup)"
    if _pg_ready; then
        local dd
        dd="$(_psql_local -d postgres -tAc 'show data_directory' 2>/dev/null || true)"
        _pg_resolve_datadir probe
        if [[ -n "$dd" && "$dd" != "${PGDATA_DIR}" ]]; then
            svc_warn "a PostgreSQL on port ${TRACKER_PG_PORT} is already running from ${dd}, not ${PGDATA_DIR}; using it"
        else
            svc_log "PostgreSQL already running on 127.0.0.1:${TRACKER_PG_PORT}"
        fi
        pg_ensure_database
        return 0
    fi
    _pg_resolve_datadir create
    if [[ ! -f "${PGDATA_DIR}/PG_VERSION" ]]; then
        _pg_initdb
    fi
    _pg_write_conf
    if _pg_postmaster_alive; then
        svc_log "PostgreSQL postmaster is starting up; waiting"
    else
        _pg_clear_stale_pidfile
        svc_log "starting PostgreSQL on 127.0.0.1:${TRACKER_PG_PORT} (data: ${PGDATA_DIR})"
        if ! _pg_as_owner "${PG_BIN}/pg_ctl" -D "${PGDATA_DIR}" -w -t 60 -l "${PG_LOG}" start \
            </dev/null >/dev/null {SVC_LOCK_FD}>&-; then
            tail -n 30 "${PG_LOG}" >&2 2>/dev/null || true
            svc_die "PostgreSQL failed to start; see ${PG_LOG}"
        fi
    fi
    local i
    for ((i = 0; i < 600; i++)); do
        if _pg_ready; then
            svc_log "PostgreSQL is up"
            pg_ensure_database
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "${PG_LOG}" >&2 2>/dev/null || true
    svc_die "PostgreSQL did not accept connections on 127.0.0.1:${TRACKER_PG_PORT} within 60s; see ${PG_LOG}"
}

pg_stop() {
    _pg_resolve_datadir probe
    if ! _pg_postmaster_alive; then
        if [[ -f "${PGDATA_DIR}/postmaster.pid" ]]; then
            svc_log "PostgreSQL is not running (stale postmaster.pid left by a crash)"
        elif _pg_ready; then
            svc_warn "a PostgreSQL on port ${TRACKER_PG_PORT} is not ours (${PGDATA_DIR}); leaving it alone"
        else
            svc_log "PostgreSQL is not running"
        fi
        return 0
    fi
    svc_log "stopping PostgreSQL (data: ${PGDATA_DIR})"
    if ! _pg_as_owner "${PG_BIN}/pg_ctl" -D "${PGDATA_DIR}" -w -t 60 -m fast stop >/dev/null; then
        # No server behind a stale postmaster.pid is fine; anything else is not.
        if _pg_postmaster_alive; then
            svc_die "pg_ctl stop failed; see ${PGDATA_DIR}/postgresql.log"
        fi
    fi
    svc_log "PostgreSQL stopped"
}

# ---------------------------------------------------------------------------
# Migrations: sql/NNN_name.sql (tables), applied once each, in lexical order; then
# sql/functions/*.sql (functions and triggers), applied every time.
# ---------------------------------------------------------------------------
migrate() {
    local sql_dir="${TRACKER_REPO_ROOT}/sql"
    local -a psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 "${TRACKER_PG_DSN}")
    "${psql_cmd[@]}" -c "set client_min_messages = warning;
        create table if not exists schema_migrations (
            version    text primary key,
            applied_at timestamptz default now())" >/dev/null ||
        svc_die "cannot reach PostgreSQL with TRACKER_PG_DSN='${TRACKER_PG_DSN}'"

    local applied
    applied="$("${psql_cmd[@]}" -tAc 'select version from schema_migrations')"

    local f version n=0
    shopt -s nullglob
    local -a files=("${sql_dir}"/[0-9]*.sql)
    shopt -u nullglob
    # Glob results are sorted by the locale; force byte order.
    mapfile -t files < <(printf '%s\n' "${files[@]}" | LC_ALL=C sort)
    for f in "${files[@]}"; do
        [[ -n "$f" ]] || continue
        version="$(basename "$f" .sql)"
        [[ "$version" =~ ^[0-9]+_[A-Za-z0-9_]+$ ]] ||
            svc_die "bad migration file name: $f (expected NNN_name.sql)"
        if grep -qxF "$version" <<<"$applied"; then
            continue
        fi
        svc_log "applying migration ${version}"
        "${psql_cmd[@]}" --single-transaction -f "$f" \
            -c "insert into schema_migrations(version) values ('${version}')" >/dev/null ||
            svc_die "migration ${version} failed (rolled back)"
        n=$((n + 1))
    done
    svc_log "migrations: ${n} applied, database up to date"

    # Functions, procedures and their triggers: one file each, defined once, applied on
    # every run (create or replace), after the tables they use exist.
    local -a functions=()
    mapfile -t functions < <(LC_ALL=C ls "${sql_dir}"/functions/*.sql 2>/dev/null)
    local -a function_args=()
    for f in "${functions[@]}"; do function_args+=(-f "$f"); done
    # Daily partitions for yesterday through six days ahead (UTC); the server keeps
    # creating them ahead while it runs.
    "${psql_cmd[@]}" --single-transaction -c "set client_min_messages = warning" "${function_args[@]}" \
        -c "select ensure_event_partitions((now() at time zone 'UTC')::date - 1, 8)" >/dev/null ||
        svc_die "applying sql/functions failed (rolled back)"
    svc_log "functions: ${#functions[@]} files applied"
}

# ---------------------------------------------------------------------------
# Redis Cluster: 3 masters and 3 replicas on loopback, for the cluster tests
# (TRACKER_REDIS_CLUSTER_MASTERS and _REPLICAS give it another shape)
# ---------------------------------------------------------------------------
[[ "${TRACKER_REDIS_CLUSTER_MASTERS}" =~ ^[1-9][0-9]*$ && "${TRACKER_REDIS_CLUSTER_REPLICAS}" =~ ^[0-9]+$ ]] ||
    svc_die "TRACKER_REDIS_CLUSTER_MASTERS (>= 1) and TRACKER_REDIS_CLUSTER_REPLICAS (>= 0) must be numbers"
CLUSTER_MASTERS=${TRACKER_REDIS_CLUSTER_MASTERS}
CLUSTER_NODES=$((CLUSTER_MASTERS * (1 + TRACKER_REDIS_CLUSTER_REPLICAS)))
CLUSTER_DIR="${TRACKER_DATA_DIR}/cluster"

_cluster_ports() {
    local base="${TRACKER_REDIS_CLUSTER_BASE_PORT}" i
    ((base + CLUSTER_NODES - 1 + 10000 <= 65535)) ||
        svc_die "TRACKER_REDIS_CLUSTER_BASE_PORT=${base}: the bus ports (port + 10000) must stay below 65536"
    for ((i = 0; i < CLUSTER_NODES; i++)); do echo $((base + i)); done
}

_cluster_cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }

_cluster_node_up() { [[ "$(_cluster_cli "$1" ping 2>/dev/null)" == "PONG" ]]; }

_cluster_write_conf() {
    local port=$1 dir="${CLUSTER_DIR}/$1"
    mkdir -p "$dir"
    local tmp="${dir}/redis.conf.tmp.$$"
    cat >"$tmp" <<EOF
# Generated by tools/lib/services.sh -- edits are overwritten on every start.
bind 127.0.0.1
port ${port}
protected-mode yes
daemonize yes
pidfile $(_redis_quote "${dir}/redis.pid")
logfile $(_redis_quote "${dir}/redis.log")
loglevel notice
dir $(_redis_quote "${dir}")

cluster-enabled yes
cluster-config-file nodes.conf
# Short, so that a killed master's replica takes over within a few seconds in the tests.
cluster-node-timeout 2000

$(_redis_durability_conf)
$(_redis_module_conf)
EOF
    mv -f "$tmp" "${dir}/redis.conf"
}

# Every node up and every node's view of the cluster "ok" (all slots served).
cluster_running() {
    local port
    for port in $(_cluster_ports); do
        [[ "$(_cluster_cli "$port" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p')" == ok ]] ||
            return 1
    done
}

# Every replica has its replication link up: a write can then be on two
# machines (WAIT), and a master that dies has a successor.
_cluster_replicas_linked() {
    local port info linked=0
    for port in $(_cluster_ports); do
        info="$(_cluster_cli "$port" info replication 2>/dev/null | tr -d '\r')"
        grep -q '^role:slave$' <<<"$info" && grep -q '^master_link_status:up$' <<<"$info" && linked=$((linked + 1))
    done
    ((linked == CLUSTER_NODES - CLUSTER_MASTERS))
}

# The masters as host:port,host:port,... (the seeds --redis-cluster takes), as a node
# that answers sees them now. Only masters that serve slots (fields from the 9th on):
# just after a create, a replica-to-be may still show as a master without any.
cluster_seeds() {
    local port
    for port in $(_cluster_ports); do
        if _cluster_node_up "$port"; then
            _cluster_cli "$port" cluster nodes 2>/dev/null |
                awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { split($2, a, "@"); print a[1] }' |
                sort | paste -sd, -
            return 0
        fi
    done
    return 1
}

# redis-cli --cluster create wants 3 masters at least; 1 or 2 are set up by hand: the
# first CLUSTER_MASTERS ports take the slots in equal ranges, the others replicate them
# in turn.
_cluster_create_small() {
    local -a ports=("$@") ids
    local i lo hi id
    for ((i = 0; i < CLUSTER_MASTERS; i++)); do
        lo=$((16384 * i / CLUSTER_MASTERS)); hi=$((16384 * (i + 1) / CLUSTER_MASTERS - 1))
        _cluster_cli "${ports[i]}" cluster addslotsrange "$lo" "$hi" | grep -qx OK || return 1
        ids+=("$(_cluster_cli "${ports[i]}" cluster myid)")
    done
    for ((i = 1; i < ${#ports[@]}; i++)); do
        _cluster_cli "${ports[i]}" cluster meet 127.0.0.1 "${ports[0]}" | grep -qx OK || return 1
    done
    for ((i = CLUSTER_MASTERS; i < ${#ports[@]}; i++)); do
        id=${ids[(i - CLUSTER_MASTERS) % CLUSTER_MASTERS]}
        # The replica must have learnt of its master through the bus first.
        for ((lo = 0; lo < SVC_WAIT_SECONDS * 10; lo++)); do
            _cluster_cli "${ports[i]}" cluster nodes | grep -q "^${id} " && break
            sleep 0.1
        done
        _cluster_cli "${ports[i]}" cluster replicate "$id" | grep -qx OK || return 1
    done
}

cluster_start() {
    _redis_check_appendfsync
    command -v redis-server >/dev/null || svc_die "redis-server not found (run: tools/dev.sh setup)"
    local port i
    local -a ports addresses
    mapfile -t ports < <(_cluster_ports)
    for port in "${ports[@]}"; do
        addresses+=("127.0.0.1:${port}")
        _cluster_node_up "$port" && continue
        # A node that ran before comes back from its nodes.conf and rejoins by itself.
        _cluster_write_conf "$port"
        redis-server "${CLUSTER_DIR}/${port}/redis.conf" </dev/null >/dev/null \
            2>>"${CLUSTER_DIR}/${port}/redis.log" {SVC_LOCK_FD}>&- ||
            svc_die "redis-server on port ${port} failed to start; see ${CLUSTER_DIR}/${port}/redis.log"
    done
    for port in "${ports[@]}"; do
        for ((i = 0; i < SVC_WAIT_SECONDS * 10; i++)); do
            _cluster_node_up "$port" && break
            sleep 0.1
        done
        _cluster_node_up "$port" ||
            svc_die "cluster node ${port} did not answer PING; see ${CLUSTER_DIR}/${port}/redis.log"
    done
    local assigned
    assigned="$(_cluster_cli "${ports[0]}" cluster info | tr -d '\r' | sed -n 's/^cluster_slots_assigned://p')"
    if [[ "$assigned" == 0 ]]; then
        svc_log "creating a Redis Cluster (${CLUSTER_MASTERS} masters, ${TRACKER_REDIS_CLUSTER_REPLICAS} replicas each) on ports ${ports[0]}..${ports[-1]}"
        if ((CLUSTER_MASTERS >= 3)); then
            redis-cli --cluster create "${addresses[@]}" --cluster-replicas "${TRACKER_REDIS_CLUSTER_REPLICAS}" \
                --cluster-yes >"${CLUSTER_DIR}/create.log" 2>&1 ||
                { tail -n 20 "${CLUSTER_DIR}/create.log" >&2; svc_die "redis-cli --cluster create failed"; }
        else
            _cluster_create_small "${ports[@]}" >"${CLUSTER_DIR}/create.log" 2>&1 ||
                { tail -n 20 "${CLUSTER_DIR}/create.log" >&2; svc_die "creating the ${CLUSTER_MASTERS}-master cluster failed"; }
        fi
    fi
    for ((i = 0; i < SVC_WAIT_SECONDS * 10; i++)); do
        if cluster_running && _cluster_replicas_linked; then
            svc_log "Redis Cluster is up, masters $(cluster_seeds) (data: ${CLUSTER_DIR})"
            return 0
        fi
        sleep 0.1
    done
    svc_die "the Redis Cluster on ports ${ports[0]}..${ports[-1]} did not reach cluster_state:ok within ${SVC_WAIT_SECONDS}s"
}

cluster_stop() {
    local port pid i
    for port in $(_cluster_ports); do
        _cluster_node_up "$port" || continue
        pid="$(cat "${CLUSTER_DIR}/${port}/redis.pid" 2>/dev/null || true)"
        # SHUTDOWN fsyncs the AOF and saves nodes.conf; the connection drops on success.
        # Asked again every second: a node refuses while it writes its first AOF (a master
        # that lost its slots in a reshard has just become a replica and does so).
        for ((i = 0; i < SVC_WAIT_SECONDS * 10; i++)); do
            ((i % 10 == 0)) && { _cluster_cli "$port" shutdown >/dev/null 2>&1 || true; }
            if ! _cluster_node_up "$port" && { [[ -z "$pid" ]] || ! _pid_alive "$pid"; }; then break; fi
            sleep 0.1
        done
        ! _cluster_node_up "$port" || svc_die "cluster node ${port} did not stop within ${SVC_WAIT_SECONDS}s"
    done
    svc_log "Redis Cluster stopped (ports from ${TRACKER_REDIS_CLUSTER_BASE_PORT})"
}
