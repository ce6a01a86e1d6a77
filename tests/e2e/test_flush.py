"""Redis -> PostgreSQL: every acknowledged event lands in `events` exactly once and the
counters in `event_stats` / `event_totals` are exact, whatever crashes in between.

These tests run a flusher (servers here start with --flusher=false unless a test turns
it on) and read PostgreSQL directly.
"""

import datetime
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter

import psycopg2
import pytest

from support import api, LOOPBACK, REPO_ROOT, SERVER_BIN, STREAM, assert_error, free_port, post, wait_until

PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")
pytestmark = pytest.mark.on_cluster

FLUSHER_ON = ("--flusher=true", "--flush-interval-ms=50")


class Postgres:
    """Queries with a connection made on demand and made again after PostgreSQL restarts."""

    def __init__(self):
        self.connection = None

    def query(self, sql, params):
        for attempt in range(2):
            try:
                if self.connection is None or self.connection.closed:
                    self.connection = psycopg2.connect(PG_DSN, connect_timeout=5)
                    self.connection.autocommit = True
                with self.connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall()
            except psycopg2.OperationalError:
                self.close()
                if attempt == 1:
                    raise
        return []

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@pytest.fixture
def pg():
    db = Postgres()
    yield db
    db.close()


def query(pg, sql, *params):
    return pg.query(sql, params)


def dev_sh(command):
    result = subprocess.run([str(REPO_ROOT / "tools/dev.sh"), command], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"tools/dev.sh {command} failed:\n{result.stderr}"


class Workload:
    """Sends events for a few keys of one test and counts what was acknowledged."""

    def __init__(self, uniq):
        self.uniq = uniq
        self.comps = {t: uniq.comp() for t in ("CLICK", "PAGE_VIEW", "SEARCH", "SHARE")}
        self.keywords = [uniq.keyword(i) for i in range(3)]
        self.posts = [uniq.post() for _ in range(3)]
        self.acked = Counter()       # (type, comp) -> events acknowledged
        self.acked_ids = set()
        self.rejected_statuses = Counter()
        self._lock = threading.Lock()
        self._rng = random.Random(uniq.token)

    def event(self):
        event_type = self._rng.choice(list(self.comps))
        metadata = {"postId": self._rng.choice(self.posts)}
        if event_type == "SEARCH":
            metadata["keyword"] = self._rng.choice(self.keywords)
        return self.uniq.event(event_type, comp=self.comps[event_type],
                               userId=self._rng.randrange(1, 50), metadata=metadata)

    def send_batch(self, server, size):
        events = [self.event() for _ in range(size)]
        try:
            response = post(server, "/api/events/batch", {"events": events})
        except Exception:  # a server being killed: nothing was acknowledged
            self.rejected_statuses["connection"] += 1
            return
        if response.status_code != 202:
            self.rejected_statuses[response.status_code] += 1
            return
        answer = response.json()
        assert answer["accepted"] == size and not answer["rejected"]
        with self._lock:
            for event, event_id in zip(events, answer["eventIds"]):
                self.acked[(event["eventType"], event["metadata"]["componentId"])] += 1
                self.acked_ids.add(event_id)

    def total(self):
        return sum(self.acked.values())

    def assert_exact_in_postgres(self, pg, timeout=60):
        session = self.uniq.session
        wait_until(lambda: query(pg, "select count(*) from events where session_id = %s",
                                 session)[0][0] >= self.total(), timeout, "all events in PostgreSQL")
        rows, distinct = query(pg, "select count(*), count(distinct id) from events where session_id = %s",
                               session)[0]
        assert rows == self.total(), "events must hold every acknowledged event once"
        assert distinct == rows, "no event may be stored twice"
        stored_ids = {str(r[0]) for r in query(pg, "select id from events where session_id = %s", session)}
        assert stored_ids == self.acked_ids

        comps = list(self.comps.values())

        def counts_settled():
            totals = dict(((t, c), n) for t, c, n in query(
                pg, "select event_type, component_id, count from event_totals "
                    "where component_id = any(%s) and post_id = 0 and keyword = ''", comps))
            return totals == dict(self.acked)
        wait_until(counts_settled, timeout, "event_totals to match the acknowledged counts")
        minute_sums = dict(((t, c), int(n)) for t, c, n in query(
            pg, "select event_type, component_id, sum(count) from event_stats "
                "where component_id = any(%s) and post_id = 0 and keyword = '' group by 1, 2", comps))
        assert minute_sums == dict(self.acked), "event_stats must sum to the acknowledged counts"
        per_post = Counter()
        for t, c, n in query(pg, "select event_type, component_id, count from event_totals "
                                 "where component_id = any(%s) and post_id <> 0 and keyword = ''",
                             comps):
            per_post[(t, c)] += n
        assert dict(per_post) == dict(self.acked), "per-post totals must add up to the same counts"


def test_flushed_events_and_counters_are_exact(start_server, uniq, pg):
    server = start_server(*FLUSHER_ON)
    work = Workload(uniq)
    for _ in range(30):
        work.send_batch(server, 100)
    assert work.total() == 3000
    work.assert_exact_in_postgres(pg)


class FlusherProcess:
    """A server whose only job here is flushing; killed with SIGKILL and restarted."""

    def __init__(self, log_path, *args):
        self.args = args
        self.log_path = log_path
        self.proc = None

    def start(self):
        cmd = [SERVER_BIN, f"--listen={LOOPBACK}", f"--port={free_port()}", "--log-level=warn", *self.args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=20) == 0


def test_kill_minus_nine_during_flushes_stays_exact(start_server, uniq, pg, tmp_path):
    ingest = start_server()  # no flusher: ingestion keeps going while flushers die
    flusher = FlusherProcess(tmp_path / "flusher.log", "--flusher=true", "--flush-interval-ms=20",
                             "--flush-batch-size=200")
    work = Workload(uniq)
    sending = threading.Event()
    sending.set()

    def keep_sending():
        deadline = time.monotonic() + 120
        while sending.is_set() and time.monotonic() < deadline:
            work.send_batch(ingest, 50)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    rng = random.Random(uniq.token)
    try:
        for _ in range(25):
            flusher.start()
            time.sleep(rng.uniform(0.05, 0.5))  # anywhere in the flush loop
            flusher.kill9()
    finally:
        sending.clear()
        sender.join(timeout=30)
    assert work.total() > 0 and not work.rejected_statuses, work.rejected_statuses
    flusher.start()
    try:
        work.assert_exact_in_postgres(pg)
    finally:
        flusher.stop()


def test_postgres_down_during_ingestion_catches_up_exactly(start_server, uniq, pg):
    server = start_server(*FLUSHER_ON)
    work = Workload(uniq)
    for _ in range(5):
        work.send_batch(server, 100)
    try:
        dev_sh("pg-stop")
        for _ in range(20):  # PostgreSQL is not on the ingestion path
            work.send_batch(server, 100)
        assert not work.rejected_statuses, work.rejected_statuses
        time.sleep(1)  # let the flusher fail and back off
    finally:
        dev_sh("pg-start")
    for _ in range(5):
        work.send_batch(server, 100)
    assert work.total() == 3000
    work.assert_exact_in_postgres(pg, timeout=90)


def test_reads_answer_503_while_postgres_is_down_and_recover(start_server, uniq):
    # No cached readings: each count below asks PostgreSQL.
    server = start_server(*FLUSHER_ON, "--statistics-cache-ms=0")
    comp = uniq.comp()
    count_path = f"/api/statistics?eventType=CLICK&componentId={comp}"
    for _ in range(3):
        assert post(server, "/api/events", uniq.event("CLICK", comp=comp)).status_code == 202
    response = post(server, "/api/posts", {"userId": uniq.user(), "content": "down", "hashtags": [uniq.keyword()]})
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]
    try:
        dev_sh("pg-stop")
        reads = [("GET", count_path, None), ("GET", "/api/statistics/summary", None),
                 ("GET", f"/api/posts/{post_id}", None),
                 ("GET", f"/api/search?userId={uniq.user()}&keyword={uniq.keyword(1)}", None),
                 ("POST", "/api/posts/like", {"userId": uniq.user(), "postId": post_id})]
        for method, path, body in reads:
            response = api.request(method, server.url(path), json=body, timeout=10)
            assert_error(response, 503, "STORE_UNAVAILABLE", field=None)
            assert response.headers.get("Retry-After"), (path, response.headers)
        ready = api.get(server.url("/health/ready"), timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["postgres"] == "DOWN", ready.text
        # Ingestion does not need PostgreSQL.
        assert post(server, "/api/events", uniq.event("CLICK", comp=comp)).status_code == 202
    finally:
        dev_sh("pg-start")

    def recovered():
        response = api.get(server.url(count_path), timeout=10)
        return response.status_code == 200 and response.json() == {"count": 4}
    wait_until(recovered, 30, "the count of 4 answered again")
    response = api.get(server.url(f"/api/posts/{post_id}"), timeout=10)
    assert response.status_code == 200 and response.json()["likeCount"] == 0, response.text


def test_events_either_side_of_midnight_land_in_their_day_partitions(start_server, redis_client, pg):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    yesterday = today - datetime.timedelta(days=1)
    before = f"{yesterday.isoformat()}T23:59:59.999Z"
    after = f"{today.isoformat()}T00:00:00.000Z"
    ids = {before: str(uuid.uuid4()), after: str(uuid.uuid4())}
    for server_time, event_id in ids.items():
        row = "\t".join([event_id, "CLICK", "\\N", "e2e-midnight", "1002", "\\N", "\\N", "\\N",
                         '{"componentId":1002}', "\\N", server_time])
        redis_client.xadd(STREAM, {"r": row})
    start_server(*FLUSHER_ON)
    wait_until(lambda: query(pg, "select count(*) from events where id = any(%s::uuid[])",
                             list(ids.values()))[0][0] == 2, 30, "both rows in PostgreSQL")
    partition = dict((str(i), p) for i, p in query(
        pg, "select id, tableoid::regclass::text from events where id = any(%s::uuid[])", list(ids.values())))
    assert partition[ids[before]] == f"events_p{yesterday.strftime('%Y%m%d')}"
    assert partition[ids[after]] == f"events_p{today.strftime('%Y%m%d')}"
