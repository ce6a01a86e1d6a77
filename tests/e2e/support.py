"""Helpers for the end-to-end tests: the server process, the Redis it uses, Redis
inspection, unique test data, HTTP over requests and over raw sockets.

Every server here starts with --flusher=false: the tests read the stream and the live
counter hashes directly, and a flusher would move them away underneath. For the same
reason the suite runs its own Redis by default (see RedisService): a flusher of any other
server on the shared development Redis would drain the stream and the live counters
while a test reads them.
"""

import http.client
import json
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis as redis_lib
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_BIN = os.environ.get("TRACKER_SERVER_BIN", str(REPO_ROOT / "build/release/event-tracker"))
DEV_SH = REPO_ROOT / "tools/dev.sh"
LOOPBACK = "127.0.0.1"

HTTP_TIMEOUT = 10  # seconds, for every request a test makes
# The servers here run with one Redis shard (the default), whose keys are "et:{0}:...";
# in cluster mode (TRACKER_E2E_REDIS=cluster) with CLUSTER_SHARDS shards on a Redis Cluster.
# Tests that read a shard's keys through RedisData (the redis_data fixture) read every shard.
SHARD = "et:{0}:"
STREAM_KEY = "stream"
TOTALS_LIVE = "totals:live"
MINUTES_LIVE = "minutes:live"  # per-minute counts of query shapes: TYPE|comp|post|kw|minute
STREAM = SHARD + STREAM_KEY
TOTALS = SHARD + TOTALS_LIVE
MINUTES = SHARD + MINUTES_LIVE
CLUSTER_MODE = os.environ.get("TRACKER_E2E_REDIS", "private") == "cluster"
CLUSTER_SHARDS = 6
EVENT_TYPES = ("PAGE_VIEW", "SEARCH", "CLICK", "LIKE", "UNLIKE", "SCROLL", "COMMENT", "SHARE")
UUID_V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MINUTE_MS = 60_000


# ---------------------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class Server:
    """One event-tracker process on a free loopback port; output goes to a log file."""

    def __init__(self, log_dir, redis_port, args, grace_ms, redis_flags=()):
        self.redis_port = redis_port
        self.redis_flags = list(redis_flags)  # e.g. --redis-cluster, which overrides the port
        self.args = list(args)
        self.grace_ms = grace_ms
        self.log_dir = Path(log_dir)
        self.proc = None
        self.port = None
        self.log_path = None
        self.stopped_rc = None
        self.crashed = False

    @property
    def base(self):
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path):
        return self.base + path

    def start(self, attempts=3):
        if not os.access(SERVER_BIN, os.X_OK):
            pytest.fail(f"server binary not found: {SERVER_BIN} "
                        "(cmake --build build/release --target event-tracker)")
        for attempt in range(attempts):
            self.port = free_port()
            self.log_path = self.log_dir / f"server-{self.port}.log"
            cmd = [SERVER_BIN, f"--listen={LOOPBACK}", f"--port={self.port}", "--flusher=false",
                   f"--redis-host={LOOPBACK}", f"--redis-port={self.redis_port}", *self.redis_flags,
                   f"--shutdown-grace-ms={self.grace_ms}", *self.args]
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            if self._wait_live(timeout=10):
                return self
            rc = self.proc.poll()
            if rc is None:
                self.kill()
                pytest.fail(f"server did not answer /health/live within 10 s\n{self.log_tail()}")
            # Exit code 1 is "cannot listen": the port was taken in between; try another.
            if rc != 1 or attempt == attempts - 1:
                pytest.fail(f"server exited at start with code {rc}\n{self.log_tail()}")
        return self

    def _wait_live(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if api.get(self.url("/health/live"), timeout=0.5).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.02)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self):
        """Sends SIGTERM (once); returns at once."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        """Waits for the process to exit; returns its exit code or None on timeout."""
        try:
            self.stopped_rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.stopped_rc

    def stop(self):
        """SIGTERM, then asserts a clean exit (code 0) within the grace time plus slack."""
        if self.proc is None or self.crashed:
            return
        if self.proc.poll() is None:
            self.terminate()
            rc = self.wait(self.grace_ms / 1000 + 5)
            if rc is None:
                self.kill()
                raise AssertionError(f"server did not exit after SIGTERM\n{self.log_tail()}")
        rc = self.proc.returncode
        assert rc == 0, f"server exit code {rc} after SIGTERM\n{self.log_tail()}"

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def crash(self):
        """kill -9 on purpose: stop() then expects no clean exit of this process."""
        self.crashed = True
        self.kill()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def log_tail(self, lines=80):
        text = self.log_text().splitlines()
        return f"--- server log {self.log_path} (last {lines} lines) ---\n" + "\n".join(text[-lines:])


class ServerFactory:
    def __init__(self, log_dir, redis_port, redis_flags=()):
        self.log_dir = log_dir
        self.redis_port = redis_port
        self.redis_flags = list(redis_flags)
        self.servers = []

    def __call__(self, *args, grace_ms=5000):
        server = Server(self.log_dir, self.redis_port, args, grace_ms, self.redis_flags)
        self.servers.append(server)
        return server.start()

    def stop_all(self):
        errors = []
        for server in self.servers:
            try:
                server.stop()
            except AssertionError as error:
                errors.append(str(error))
            finally:
                server.kill()
        assert not errors, "\n".join(errors)


# ---------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------

def redis_is_shared():
    return os.environ.get("TRACKER_E2E_REDIS", "private") == "shared"


# The suite's Redis, once the session fixture has started it (see RedisService.activate).
ACTIVE_REDIS = None


def dev_sh(command, timeout=60):
    """tools/dev.sh COMMAND. The redis-* commands act on the suite's Redis; the others
    (pg-stop, pg-start, ...) on the shared development services."""
    if command.startswith("redis-") and ACTIVE_REDIS is not None:
        ACTIVE_REDIS.dev_sh(command, timeout)
        return
    env = dict(os.environ)
    if ACTIVE_REDIS is not None:
        env.update(ACTIVE_REDIS.saved_env)
    _run_dev_sh(command, env, timeout)


def _run_dev_sh(command, env, timeout):
    result = subprocess.run([str(DEV_SH), command], capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    assert result.returncode == 0, f"tools/dev.sh {command} failed:\n{result.stderr}"


class RedisService:
    """The Redis the suite's servers use, started and stopped through tools/dev.sh.

    By default a private instance: tools/dev.sh with TRACKER_DATA_DIR pointing at a
    temporary folder and TRACKER_REDIS_PORT at a free port, so it has the project's
    configuration (AOF, noeviction) and stopping it disturbs nobody else. With
    TRACKER_E2E_REDIS=shared the development Redis (TRACKER_REDIS_PORT, default 56379) is
    used instead; then a flusher of another server on it can make tests fail.
    """

    def __init__(self, data_dir):
        self.shared = redis_is_shared()
        self.data_dir = Path(data_dir)
        self.env = dict(os.environ)
        if self.shared:
            self.port = int(os.environ.get("TRACKER_REDIS_PORT", "56379"))
        else:
            self.port = free_port()
            self.env["TRACKER_DATA_DIR"] = str(data_dir)
            self.env["TRACKER_REDIS_PORT"] = str(self.port)
        self.env["TRACKER_REDIS_HOST"] = LOOPBACK

    def dev_sh(self, command, timeout=60):
        _run_dev_sh(command, self.env, timeout)

    def activate(self):
        """Points processes started from now on (also those started without
        --redis-port) at this Redis, through TRACKER_REDIS_HOST/PORT."""
        global ACTIVE_REDIS
        names = ("TRACKER_REDIS_HOST", "TRACKER_REDIS_PORT")
        self.saved_env = {name: os.environ[name] for name in names if name in os.environ}
        os.environ["TRACKER_REDIS_HOST"] = LOOPBACK
        os.environ["TRACKER_REDIS_PORT"] = str(self.port)
        ACTIVE_REDIS = self

    def deactivate(self):
        global ACTIVE_REDIS
        for name in ("TRACKER_REDIS_HOST", "TRACKER_REDIS_PORT"):
            os.environ.pop(name, None)
        os.environ.update(self.saved_env)
        ACTIVE_REDIS = None

    def start(self):
        self.dev_sh("redis-start")

    def stop(self):
        self.dev_sh("redis-stop")

    def crash(self, timeout=10):
        """kill -9 of the private Redis (pid from tools/lib/services.sh's redis.pid); the
        next start() replays its AOF."""
        assert not self.shared, "the shared development Redis is not killed by tests"
        pid = int((self.data_dir / "redis/redis.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.running():
            assert time.monotonic() < deadline, f"Redis (pid {pid}) still answers after SIGKILL"
            time.sleep(0.02)

    def running(self):
        try:
            probe = redis_lib.Redis(host=LOOPBACK, port=self.port, socket_timeout=1,
                                    socket_connect_timeout=1)
            try:
                return probe.ping()
            finally:
                probe.close()
        except redis_lib.RedisError:
            return False

    def client(self):
        return redis_lib.Redis(host=LOOPBACK, port=self.port, decode_responses=True,
                               socket_timeout=10, socket_connect_timeout=5)

    shards = 1

    def server_flags(self):
        return []


class RedisCluster:
    """A Redis Cluster of the tests' own: 3 masters and 3 replicas on loopback, started and
    stopped through tools/dev.sh cluster-start / cluster-stop with TRACKER_DATA_DIR pointing
    at a temporary folder and a free range of ports (each node's port + 10000 is its bus)."""

    NODES = 6

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.base = self._free_base()
        self.env = dict(os.environ, TRACKER_DATA_DIR=str(data_dir),
                        TRACKER_REDIS_CLUSTER_BASE_PORT=str(self.base))
        self.ports = [self.base + i for i in range(self.NODES)]

    @classmethod
    def _free_base(cls):
        rng = random.Random()
        for _ in range(200):
            base = rng.randrange(20000, 30000 - cls.NODES)
            if all(cls._port_free(base + i) and cls._port_free(base + i + 10000) for i in range(cls.NODES)):
                return base
        raise AssertionError("no free range of ports for a Redis Cluster")

    @staticmethod
    def _port_free(port):
        with socket.socket() as probe:
            try:
                probe.bind((LOOPBACK, port))
                return True
            except OSError:
                return False

    def start(self):
        _run_dev_sh("cluster-start", self.env, 180)

    def stop(self):
        _run_dev_sh("cluster-stop", self.env, 60)

    def node(self, port):
        return redis_lib.Redis(host=LOOPBACK, port=port, decode_responses=True, socket_timeout=10,
                               socket_connect_timeout=5)

    def nodes(self):
        """{port: (node id, role, slots)} from CLUSTER NODES as one live node sees it."""
        for port in self.ports:
            try:
                text = self.node(port).execute_command("CLUSTER", "NODES")
            except redis_lib.RedisError:
                continue
            if isinstance(text, bytes):
                text = text.decode()
            found = {}
            for line in text.splitlines():
                fields = line.split()
                address = fields[1].split("@")[0]
                role = "master" if "master" in fields[2].split(",") else "replica"
                found[int(address.rsplit(":", 1)[1])] = (fields[0], role, fields[8:])
            return found
        raise AssertionError("no cluster node answers")

    def masters(self):
        return sorted(port for port, (_, role, slots) in self.nodes().items() if role == "master" and slots)

    def seeds(self):
        return ",".join(f"{LOOPBACK}:{port}" for port in self.masters())

    def key_slot(self, key):
        return int(self.node(self.masters()[0]).execute_command("CLUSTER", "KEYSLOT", key))

    def owner(self, slot):
        """The port of the master serving `slot`."""
        for port, (_, role, ranges) in self.nodes().items():
            if role != "master":
                continue
            for text in ranges:
                if text.startswith("["):
                    continue  # a slot being migrated or imported
                low, _, high = text.partition("-")
                if int(low) <= slot <= int(high or low):
                    return port
        raise AssertionError(f"no master serves slot {slot}")


class ClusterRedisService:
    """The suite's Redis in cluster mode (TRACKER_E2E_REDIS=cluster): a RedisCluster of its
    own (3 masters, 3 replicas, free ports) for the session, in the place of RedisService.
    Servers the fixtures start get --redis-cluster and --redis-shards=CLUSTER_SHARDS
    (server_flags); processes started without them find the same in TRACKER_REDIS_CLUSTER
    and TRACKER_REDIS_SHARDS while it is active."""

    shared = False
    shards = CLUSTER_SHARDS
    ENV = ("TRACKER_REDIS_CLUSTER", "TRACKER_REDIS_SHARDS", "TRACKER_FLUSHER_SHARDS")

    def __init__(self, data_dir):
        self.cluster = RedisCluster(data_dir)
        self.port = self.cluster.ports[0]  # for messages; servers use the seeds
        self.saved_env = {}

    def start(self):
        self.cluster.start()

    def stop(self):
        self.cluster.stop()

    def running(self):
        try:
            return self.client().ping()
        except redis_lib.RedisError:
            return False

    def dev_sh(self, command, timeout=60):
        raise AssertionError(f"tools/dev.sh {command}: there is no single Redis in cluster mode")

    def server_flags(self):
        return [f"--redis-cluster={self.cluster.seeds()}", f"--redis-shards={self.shards}"]

    def activate(self):
        global ACTIVE_REDIS
        self.saved_env = {name: os.environ[name] for name in self.ENV if name in os.environ}
        os.environ.pop("TRACKER_FLUSHER_SHARDS", None)
        os.environ["TRACKER_REDIS_CLUSTER"] = self.cluster.seeds()
        os.environ["TRACKER_REDIS_SHARDS"] = str(self.shards)
        ACTIVE_REDIS = self

    def deactivate(self):
        global ACTIVE_REDIS
        for name in self.ENV:
            os.environ.pop(name, None)
        os.environ.update(self.saved_env)
        ACTIVE_REDIS = None

    def client(self):
        from redis.cluster import ClusterNode
        from redis.cluster import RedisCluster as ClusterClient
        return ClusterClient(startup_nodes=[ClusterNode(LOOPBACK, port) for port in self.cluster.masters()],
                             decode_responses=True, socket_timeout=10, socket_connect_timeout=5)


class RedisData:
    """The servers' Redis data as the tests inspect it, whatever the layout: `shards`
    logical shards (keys "et:{<shard>}:..."), one on the suite's single Redis, several on a
    cluster (then `client` is redis-py's cluster client, which routes each key to its
    master). As the server's own reads do, a read of "the stream", "the totals" or a
    ranking asks every shard and adds up; what has one home (a user's recent keywords, the
    per-event keys of their events) is read in the user's shard."""

    def __init__(self, client, shards=1):
        self.client = client
        self.shards = shards

    @classmethod
    def of(cls, r):
        """A plain Redis client is the one-shard layout."""
        return r if isinstance(r, RedisData) else cls(r)

    @staticmethod
    def prefix(shard):
        return f"et:{{{shard}}}:"

    def names(self, suffix):
        """The key `suffix` (e.g. "totals:live") of every shard."""
        return [self.prefix(shard) + suffix for shard in range(self.shards)]

    def user_shard(self, user_id):
        """The shard of a user's events: src/redis/shards.hpp's splitmix64 finalizer of the
        id modulo the shard count."""
        mask = (1 << 64) - 1
        x = user_id & mask
        x ^= x >> 30
        x = (x * 0xbf58476d1ce4e5b9) & mask
        x ^= x >> 27
        x = (x * 0x94d049bb133111eb) & mask
        x ^= x >> 31
        return x % self.shards

    def user_key(self, user_id, suffix):
        return self.prefix(self.user_shard(user_id)) + suffix

    def stream_mark(self):
        """The newest entry of each shard's stream now (entries added later sort after it)."""
        mark = []
        for name in self.names(STREAM_KEY):
            last = self.client.xrevrange(name, "+", "-", count=1)
            mark.append(last[0][0] if last else "0-0")
        return tuple(mark)

    def stream_rows_since(self, mark, max_entries=5_000_000, chunk=10_000):
        """COPY rows (field `rows`) of the entries added to any shard's stream after `mark`,
        oldest first (shards' entries merged by their ids, which are times)."""
        entries = []
        for name, start in zip(self.names(STREAM_KEY), mark):
            for _ in range(max_entries // chunk + 1):
                found = self.client.xrange(name, f"({start}", "+", count=chunk)
                if not found:
                    break
                entries.extend(found)
                start = found[-1][0]
        if self.shards > 1:
            entries.sort(key=lambda entry: tuple(int(part) for part in entry[0].split("-")))
        rows = []
        for _, fields in entries:  # one entry per ingest call: "rows", one COPY row per line
            if "rows" in fields:
                rows.extend(fields["rows"].split("\n"))
        return rows

    def counters(self, suffix, fields):
        """Each field of the counter hash `suffix` (e.g. MINUTES_LIVE), summed over shards."""
        sums = [0] * len(fields)
        for name in self.names(suffix):
            for i, value in enumerate(self.client.hmget(name, fields)):
                sums[i] += int(value or 0)
        return sums

    def counter(self, suffix, field):
        return self.counters(suffix, [field])[0]

    def totals(self, comp, post="*", kw="*"):
        """All-time live totals per event type for (component, post, keyword)."""
        fields = [f"{t}|{comp}|{post}|{kw}" for t in EVENT_TYPES]
        return dict(zip(EVENT_TYPES, self.counters(TOTALS_LIVE, fields)))

    def zscore(self, suffix, member):
        """A ranking's score of `member`: the sum of the shards' (None if in none)."""
        scores = [self.client.zscore(name, member) for name in self.names(suffix)]
        found = [score for score in scores if score is not None]
        return sum(found) if found else None

    def llen(self, suffix):
        return sum(self.client.llen(name) for name in self.names(suffix))


def stream_mark(r):
    """The newest stream entry now (entries added later sort after it); `r` is a Redis
    client (one shard) or a RedisData."""
    return RedisData.of(r).stream_mark()


def stream_rows_since(r, mark, max_entries=5_000_000, chunk=10_000):
    """COPY rows (field `rows`) of the stream entries added after `mark`, oldest first."""
    return RedisData.of(r).stream_rows_since(mark, max_entries, chunk)


def rows_with(rows, text):
    return [row for row in rows if text in row]


def totals(r, comp, post="*", kw="*"):
    """All-time live totals per event type for (component, post, keyword)."""
    return RedisData.of(r).totals(comp, post, kw)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_persisted(server, timeout=30):
    """Until the flusher has moved every acknowledged event to PostgreSQL."""
    wait_until(lambda: api.get(server.url("/api/statistics/summary"),
                                    timeout=HTTP_TIMEOUT).json()["pendingPersistence"] == 0,
               timeout, "the flusher to move the events to PostgreSQL")


# ---------------------------------------------------------------------------------------
# Unique test data
# ---------------------------------------------------------------------------------------

class Unique:
    """Ids no other test (or earlier run) uses: counters keyed by them start at zero."""

    def __init__(self):
        self.token = uuid.uuid4().hex[:16]
        self.session = f"e2e-{self.token}"
        self._rng = random.Random(self.token)

    def user(self):
        return self._rng.randrange(10**12, 9 * 10**15)

    def comp(self):
        return self._rng.randrange(10**12, 9 * 10**15)

    def post(self):
        return self._rng.randrange(10**12, 9 * 10**15)

    def keyword(self, i=0):
        return f"kw-{self.token}-{i}"

    def event(self, event_type="CLICK", comp=None, **top):
        metadata = top.pop("metadata", {})
        body = {"eventType": event_type, "sessionId": self.session,
                "metadata": {"componentId": comp if comp is not None else self.comp(),
                             "elementId": "element-7", **metadata}}
        body.update(top)
        return body


# ---------------------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------------------

# The API keys of the suite by scope (write, read, admin); conftest creates them at the start
# of the session (install_keys puts them into private databases too).
KEYS = {}
_AUTOMATIC = object()


def server_routes():
    """(method, compiled path pattern, access) of every route, from --print-routes."""
    out = subprocess.run([SERVER_BIN, "--print-routes"], capture_output=True, text=True, timeout=30,
                         check=True, stdin=subprocess.DEVNULL).stdout
    routes = []
    for line in out.splitlines():
        method, pattern, access = line.split()
        regex = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(pattern))
        routes.append((method, re.compile(f"^{regex}$"), access))
    return routes


_ROUTES = []


def route_access(method, url):
    """The access level (open, write, read, admin) of the route a request goes to; None
    when no route serves it."""
    if not _ROUTES:
        _ROUTES.extend(server_routes())
    # As the router reads a path: empty segments ("//", a trailing "/") do not count.
    path = "/" + "/".join(part for part in requests.utils.urlparse(url).path.split("/") if part)
    method = "GET" if method.upper() == "HEAD" else method.upper()
    for route_method, regex, access in _ROUTES:
        if route_method == method and regex.match(path):
            return access
    return None


def key_headers(access, key=None):
    """The header a key goes in for a route of `access`: X-Api-Key on write routes,
    Authorization: Bearer on read and admin routes."""
    key = key or KEYS.get("admin" if access == "admin" else access)
    if not key:
        return {}
    return {"X-Api-Key": key} if access == "write" else {"Authorization": f"Bearer {key}"}


def install_keys(dsn):
    """Puts the suite's keys (by their SHA-256, as the server stores them) into the database
    of `dsn`, for servers started on a private database."""
    import hashlib

    import psycopg2
    connection = psycopg2.connect(dsn, connect_timeout=10)
    try:
        with connection, connection.cursor() as cursor:
            for scope, key in KEYS.items():
                cursor.execute("insert into api_keys (name, scope, hash, prefix) values (%s, %s, %s, %s) "
                               "on conflict do nothing",
                               (f"e2e-{scope}-{key[4:12]}", scope, hashlib.sha256(key.encode()).digest(), key[:12]))
    finally:
        connection.close()


class TrackerClient(requests.Session):
    """The tests' HTTP client: every request a test makes to a tracker server goes through
    one, so that it can carry what the server asks of every client: the suite's API key of
    the route's scope (by the access column of --print-routes). A request that sets
    X-Api-Key or Authorization itself keeps them; key=None sends none, key="etw_..." that
    key in the route's header."""

    def request(self, method, url, *args, key=_AUTOMATIC, **kwargs):
        headers = kwargs.get("headers") or {}
        own = {name.lower() for name in headers}
        if key is not None and not ({"x-api-key", "authorization"} & own):
            access = route_access(method, url)
            if access in ("write", "read", "admin"):
                kwargs["headers"] = {**key_headers(access, None if key is _AUTOMATIC else key), **headers}
        return super().request(method, url, *args, **kwargs)


api = TrackerClient()


def post(server, path, body, **kwargs):
    return api.post(server.url(path), json=body, timeout=HTTP_TIMEOUT, **kwargs)


def assert_error(response, status, code=None, field=...):
    """The contract's error shape: {"error": {"code", "message"[, "field"]}}."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and "error" in body, body
    error = body["error"]
    assert set(error) <= {"code", "message", "field"}, error
    assert isinstance(error.get("code"), str) and error["code"], error
    assert isinstance(error.get("message"), str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    if field is None:
        assert "field" not in error, error
    elif field is not ...:
        assert error.get("field") == field, error
    return error


def uuid_v7_ms(event_id):
    assert UUID_V7.match(event_id), f"not a UUIDv7: {event_id!r}"
    return int(event_id.replace("-", "")[:12], 16)


# Raw sockets, for what an HTTP library will not send.

class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


_REQUEST_LINE = re.compile(rb"(?<![A-Za-z])([A-Z]+) (/api/[^ \r\n]*) HTTP/1\.[01]\r\n")


def with_keys(data):
    """Raw request bytes with the suite's key of each request's route after its request
    line (unless the bytes name a key already)."""
    if b"x-api-key:" in data.lower() or b"authorization:" in data.lower():
        return data

    def keyed(match):
        access = route_access(match.group(1).decode(), match.group(2).decode())
        headers = key_headers(access) if access in ("write", "read", "admin") else {}
        return match.group(0) + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    return _REQUEST_LINE.sub(keyed, data)


class KeyedHTTPConnection(http.client.HTTPConnection):
    """http.client's connection with the suite's API key of each request's route, unless
    the request names a key itself."""

    def putrequest(self, method, url, *args, **kwargs):
        self._keyed_request, self._keyed_own = (method, url), False
        return super().putrequest(method, url, *args, **kwargs)

    def putheader(self, header, *values):
        if header.lower() in ("x-api-key", "authorization"):
            self._keyed_own = True
        return super().putheader(header, *values)

    def endheaders(self, *args, **kwargs):
        if not self._keyed_own:
            method, url = self._keyed_request
            access = route_access(method, url.split("?")[0]) if url.startswith("/") else None
            if access in ("write", "read", "admin"):
                for name, value in key_headers(access).items():
                    super().putheader(name, value)
        return super().endheaders(*args, **kwargs)


class KeyedSocket(socket.socket):
    """A client socket whose sendall() adds the suite's API keys to the requests it sends
    (support.with_keys), as TrackerClient does for requests made with requests."""

    def sendall(self, data, *args):
        return super().sendall(with_keys(bytes(data)), *args)


def raw_connect(server, timeout=HTTP_TIMEOUT):
    sock = KeyedSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect((LOOPBACK, server.port))
    return sock


def read_response(sock, timeout=HTTP_TIMEOUT, buffer=b""):
    """Reads one HTTP/1.1 response with a Content-Length body. Returns (response, rest)."""
    deadline = time.monotonic() + timeout
    data = buffer
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a full response head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside a response body")
        rest += chunk
    return RawResponse(status, headers, rest[:length]), rest[length:]


def wait_closed(sock, timeout):
    """Seconds until the peer closes (EOF or reset), or None if still open after timeout.
    Data the peer sends meanwhile is discarded."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
        if not chunk:
            return time.monotonic() - started


def watch_closes(socks, timeout):
    """Waits until every socket is closed by the peer (or timeout); returns for each the
    monotonic time it closed (None if still open) and the bytes it received."""
    closed_at = [None] * len(socks)
    received = [b""] * len(socks)
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for i, sock in enumerate(socks):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, i)
        while selector.get_map() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                i = key.data
                try:
                    chunk = socks[i].recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    received[i] += chunk
                else:
                    closed_at[i] = time.monotonic()
                    selector.unregister(socks[i])
    return closed_at, received
