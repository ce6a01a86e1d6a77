"""End-to-end fixtures: the real server binary on a free loopback port (its own process,
output in a log shown when a test fails, stopped with SIGTERM and expected to exit 0), the
Redis it uses and a client for it, and unique test data so tests never clear Redis nor see
each other's data.

Helpers shared by the test modules live in support.py.
"""

import os
import subprocess
import uuid

import psycopg2
import pytest
import redis as redis_lib

from redis_fault_proxy import RedisFaultProxy
import support
from support import (CLUSTER_MODE, REPO_ROOT, SERVER_BIN, ClusterRedisService, RedisData, RedisService, Server,
                     ServerFactory, Unique, install_keys)

PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")

# Servers here run on the suite's own Redis; one that `tools/dev.sh env` or `tools/dev.sh
# test` names for a Redis Cluster (and its shard settings) must not reach them. A test that
# wants a cluster starts its own (support.RedisCluster) and passes --redis-cluster. In
# cluster mode (TRACKER_E2E_REDIS=cluster) the suite's own Redis is a cluster of its own.
for _name in ("TRACKER_REDIS_CLUSTER", "TRACKER_REDIS_SHARDS", "TRACKER_FLUSHER_SHARDS"):
    os.environ.pop(_name, None)


def dsn_with_database(name):
    parts = [p for p in PG_DSN.split() if not p.startswith("dbname=")]
    return " ".join(parts + [f"dbname={name}"])


def create_key(scope, name, *extra, dsn=None):
    """`event-tracker keys create`; returns the key (the last line of its output)."""
    env = dict(os.environ, TRACKER_PG_DSN=dsn or PG_DSN)
    result = subprocess.run([SERVER_BIN, "keys", "create", f"--scope={scope}", f"--name={name}", *extra],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert result.returncode == 0, f"keys create failed:\n{result.stdout}{result.stderr}"
    return result.stdout.strip().splitlines()[-1].strip()


def pytest_sessionstart(session):
    """The suite's API keys, one per scope, in the database servers use (TRACKER_PG_DSN);
    support.TrackerClient sends them. Servers see them at their first key load."""
    if not os.access(SERVER_BIN, os.X_OK):
        return  # Server.start fails with the reason
    tag = uuid.uuid4().hex[:10]
    for scope in ("write", "read", "admin"):
        support.KEYS[scope] = create_key(scope, f"e2e-{tag}-{scope}")


def pytest_collection_modifyitems(config, items):
    """In cluster mode only the modules marked `on_cluster` run: the others use the one
    Redis itself (stop or kill it, put a fault proxy in front of it, read its keys as
    shard 0's), which a cluster does not have."""
    if not CLUSTER_MODE:
        return
    skip = pytest.mark.skip(reason="TRACKER_E2E_REDIS=cluster runs only the modules marked on_cluster; "
                                   "this one needs the single Redis")
    for item in items:
        if item.get_closest_marker("on_cluster") is None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory):
    """The Redis of the suite: private unless TRACKER_E2E_REDIS=shared (see RedisService),
    a Redis Cluster of its own with TRACKER_E2E_REDIS=cluster (see ClusterRedisService)."""
    data_dir = tmp_path_factory.mktemp("data")
    service = ClusterRedisService(data_dir) if CLUSTER_MODE else RedisService(data_dir)
    if not service.shared:
        service.start()
    elif not service.running():
        pytest.fail(f"Redis is not reachable on port {service.port}; "
                    "start it with tools/dev.sh services")
    service.activate()
    try:
        yield service
    finally:
        service.deactivate()
        if not service.shared:
            service.stop()


@pytest.fixture(scope="session")
def redis_client(redis_service):
    client = redis_service.client()
    try:
        client.ping()
    except redis_lib.RedisError as error:
        pytest.fail(f"Redis is not reachable on port {redis_service.port}: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_data(redis_client, redis_service):
    """The servers' data in Redis over all its shards (support.RedisData): what tests that
    also run on a cluster read instead of a shard's keys."""
    return RedisData(redis_client, redis_service.shards)


@pytest.fixture
def start_server(tmp_path, redis_service):
    """Starts servers with extra flags: start_server('--read-timeout-ms=500').
    Each is stopped with SIGTERM at the end of the test, asserting exit code 0."""
    factory = ServerFactory(tmp_path, redis_service.port, redis_service.server_flags())
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def module_server_factory(tmp_path_factory, redis_service):
    """Like start_server, for one server shared by the tests of a module."""
    factory = ServerFactory(tmp_path_factory.mktemp("server"), redis_service.port, redis_service.server_flags())
    yield factory
    factory.stop_all()


def run_admin(sql):
    """One statement in the `postgres` database, on a connection of its own (a test may have
    restarted PostgreSQL since the last one)."""
    admin = psycopg2.connect(dsn_with_database("postgres"), connect_timeout=10)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql)
    finally:
        admin.close()


@pytest.fixture
def private_database():
    """A database of the test's own, migrated, dropped afterwards; yields its DSN."""
    name = f"et_e2e_{uuid.uuid4().hex[:12]}"
    run_admin(f"create database {name}")
    try:
        dsn = dsn_with_database(name)
        env = dict(os.environ, TRACKER_PG_DSN=dsn)
        migrate = subprocess.run([str(REPO_ROOT / "tools/dev.sh"), "migrate"], capture_output=True, text=True,
                                 timeout=120, stdin=subprocess.DEVNULL, env=env)
        assert migrate.returncode == 0, f"migrations failed on {name}:\n{migrate.stderr}"
        install_keys(dsn)
        yield dsn
    finally:
        run_admin(f"drop database if exists {name} with (force)")


@pytest.fixture
def proxy(redis_service):
    """A Redis fault proxy in front of the suite's Redis: a server started with
    --redis-port=proxy.port sees the faults a test injects."""
    fault_proxy = RedisFaultProxy(redis_service.port)
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def uniq():
    """Random session id, user/component/post ids and keywords for one test."""
    return Unique()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attaches the logs of the servers a failed test used to its report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        servers = []
        if isinstance(value, Server):
            servers = [value]
        elif isinstance(value, ServerFactory):
            servers = value.servers
        for server in servers:
            if id(server) in seen or server.log_path is None:
                continue
            seen.add(id(server))
            report.sections.append((f"server log (port {server.port})", server.log_tail(200)))
