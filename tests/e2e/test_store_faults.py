"""What the server answers while a store passes through a state it recovers from, or
answers something unexpected: a 503 with Retry-After and our own words, never a 500 and
never the store's text; and the next request after the store is back succeeds.

Redis faults come from a proxy in front of the suite's Redis that answers chosen
commands itself (redis_fault_proxy.py); PostgreSQL faults are real, on a database of
the test's own (read-only by default_transaction_read_only, connections terminated)."""

import concurrent.futures
import contextlib
import hashlib
import pathlib
import time

import psycopg2
import pytest

from redis_fault_proxy import bulk_reply, error_reply
from support import api, HTTP_TIMEOUT, assert_error, post

# Every error prefix of a state Redis passes through, as Redis words it.
TRANSIENT_REDIS_ERRORS = [
    "LOADING Redis is loading the dataset in memory",
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "READONLY You can't write against a read only replica.",
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "CLUSTERDOWN The cluster is down",
    "OOM command not allowed when used memory > 'maxmemory'.",
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
]
SCRIPT_COMMANDS = ["EVALSHA", "EVAL"]


@pytest.fixture
def server(start_server, proxy):
    return start_server(f"--redis-port={proxy.port}", "--redis-timeout-ms=2000")


def assert_unavailable(response, *hidden):
    """503 STORE_UNAVAILABLE with Retry-After, in our own words."""
    assert_error(response, 503, "STORE_UNAVAILABLE", None)
    assert response.headers.get("Retry-After", "").isdigit(), response.headers
    for text in hidden:
        assert text not in response.text, response.text


def ingest_succeeds(server, uniq):
    response = post(server, "/api/events", uniq.event("CLICK"))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("error", TRANSIENT_REDIS_ERRORS, ids=lambda e: e.split()[0])
def test_transient_redis_state_is_503_then_ingestion_goes_on(server, proxy, uniq, error):
    ingest_succeeds(server, uniq)
    proxy.inject(error_reply(error), SCRIPT_COMMANDS)
    single = post(server, "/api/events", uniq.event("CLICK"))
    batch = post(server, "/api/events/batch", {"events": [uniq.event("CLICK")] * 3})
    assert proxy.answered >= 2
    proxy.clear()
    for response in (single, batch):
        assert_unavailable(response, error.split()[0], error.split()[-1])
    ingest_succeeds(server, uniq)


def test_redis_loading_everything_is_503_on_every_route(server, proxy, uniq):
    proxy.inject(error_reply(TRANSIENT_REDIS_ERRORS[0]))
    answers = [
        post(server, "/api/events", uniq.event("SEARCH", 1001, userId=uniq.user(),
                                               metadata={"keyword": uniq.keyword()})),
        api.get(server.url(f"/api/statistics?eventType=CLICK&componentId={uniq.comp()}"),
                     timeout=HTTP_TIMEOUT),
        api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT),
        api.get(server.url("/api/statistics/unique-users?eventType=CLICK"), timeout=HTTP_TIMEOUT),
        api.get(server.url(f"/api/search/recent/{uniq.user()}"), timeout=HTTP_TIMEOUT),
    ]
    proxy.clear()
    for response in answers:
        assert_unavailable(response, "LOADING", "dataset")
    ingest_succeeds(server, uniq)


def test_a_redis_error_reply_never_reaches_the_client(server, proxy, uniq):
    proxy.inject(error_reply("ERR internal detail 8d1f of the store"), SCRIPT_COMMANDS)
    response = post(server, "/api/events", uniq.event("CLICK"))
    proxy.clear()
    assert_unavailable(response, "8d1f", "ERR")
    ingest_succeeds(server, uniq)


def test_a_reply_that_is_not_a_number_is_503(server, proxy, uniq):
    # The summary reads the backlog's size with GET.
    proxy.inject(bulk_reply("not-a-number"), ["GET"])
    response = api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT)
    proxy.clear()
    assert proxy.answered >= 1
    assert_unavailable(response, "not-a-number")


def test_noscript_is_answered_by_loading_the_script_again(server, proxy, uniq):
    proxy.inject(error_reply("NOSCRIPT No matching script. Please use EVAL."), ["EVALSHA"])
    response = post(server, "/api/events", uniq.event("CLICK"))
    answered = proxy.answered
    proxy.clear()
    assert answered >= 1
    assert response.status_code == 202, response.text


def test_script_flush_is_recovered_from(server, redis_client, uniq):
    ingest_succeeds(server, uniq)
    redis_client.script_flush()
    ingest_succeeds(server, uniq)
    redis_client.script_flush()
    response = api.get(server.url(f"/api/statistics?eventType=CLICK&componentId={uniq.comp()}"),
                            timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text


def test_a_slow_statistics_read_does_not_fail_ingestion(start_server, proxy, uniq):
    # One I/O thread: before ingestion had connections of its own, the read and the events
    # shared one Redis connection, and the read's timeout reset it under them.
    server = start_server(f"--redis-port={proxy.port}", "--redis-timeout-ms=400", "--io-threads=1")
    ingest_succeeds(server, uniq)
    script = pathlib.Path(__file__).resolve().parents[2] / "src/redis/lua/read_counts.lua"
    proxy.slow(1.5, ["EVALSHA"], hashlib.sha1(script.read_bytes()).hexdigest())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        read = pool.submit(api.get, server.url(f"/api/statistics?eventType=CLICK&componentId={uniq.comp()}"),
                           timeout=HTTP_TIMEOUT)
        time.sleep(0.1)
        ingests = []
        while not read.done() or len(ingests) < 5:
            ingests.append(post(server, "/api/events", uniq.event("CLICK")))
            time.sleep(0.05)
        slow_read = read.result()
    proxy.clear()
    assert_unavailable(slow_read)
    assert [r.status_code for r in ingests] == [202] * len(ingests), [r.text for r in ingests if r.status_code != 202]


# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def admin_connection(dsn):
    connection = psycopg2.connect(dsn, connect_timeout=10)
    connection.autocommit = True
    try:
        yield connection.cursor()
    finally:
        connection.close()


def terminate_other_backends(cursor):
    cursor.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                   "where datname = current_database() and pid <> pg_backend_pid()")


def create_post(server, uniq):
    return post(server, "/api/posts", {"userId": uniq.user(), "content": f"post {uniq.token}",
                                       "hashtags": [uniq.keyword()]})


def test_postgres_read_only_and_terminated_connections_are_503(start_server, private_database, uniq):
    server = start_server(f"--pg-dsn={private_database}", "--pg-pool-size=2")
    assert create_post(server, uniq).status_code == 201
    with admin_connection(private_database) as cursor:
        cursor.execute("select current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(f"alter database {database} set default_transaction_read_only = on")
        try:
            terminate_other_backends(cursor)
            # The first requests meet the terminated connections, the next ones new,
            # read-only connections: 503 with Retry-After either way, in our own words.
            for _ in range(6):
                response = create_post(server, uniq)
                assert_unavailable(response, "read-only", "INSERT", "insert", "terminat")
        finally:
            cursor.execute(f"alter database {database} reset default_transaction_read_only")
        terminate_other_backends(cursor)

    deadline = time.monotonic() + 10
    while True:
        response = create_post(server, uniq)
        if response.status_code == 201:
            break
        assert_unavailable(response)
        assert time.monotonic() < deadline, "creating posts did not recover"
        time.sleep(0.1)
