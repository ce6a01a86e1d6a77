"""Chaos end to end: clients keep sending single events and batches while the server is
killed with SIGKILL and restarted, Redis is killed with SIGKILL and restarted (replaying its
AOF) and PostgreSQL is stopped for a few seconds. Afterwards every acknowledged event is in
`events` exactly once, the statistics agree with the rows, and every answer was a 202 or a
503 with Retry-After.

Each event carries a client eventId, and a client repeats a request with the same ids until
it is acknowledged: after a lost answer (the server killed mid-request) the repeat is
answered with the first ids and counted once. The server has a database of its own
(private_database) and uses the suite's private Redis, which is what gets killed.
"""

import random
import threading
import time
import uuid
from collections import Counter

import psycopg2
import pytest
import requests

from support import api, TrackerClient, dev_sh, wait_until

FLUSHER_ON = ("--flusher=true", "--flush-interval-ms=50")
SINGLE_CLIENTS = 4
BATCH_CLIENTS = 2
EVENT_TYPES = ("CLICK", "PAGE_VIEW", "SEARCH", "SHARE")
REQUEST_TIMEOUT = 5        # seconds per attempt
GIVE_UP_AFTER = 45         # seconds one request may take to be acknowledged, retries included


class Target:
    """The server the clients talk to now; the chaos swaps it on every restart."""

    def __init__(self, server):
        self._server = server
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            return self._server

    def set(self, server):
        with self._lock:
            self._server = server


class Ledger:
    """What the clients were told: acknowledged ids, every status seen, wrong answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}                  # client eventId -> the id the server answered
        self.kind = {}                   # client eventId -> (eventType, componentId)
        self.statuses = Counter()        # status code (or exception name) -> answers
        self.wrong = []                  # answers that are neither 202 nor 503 + Retry-After
        self.unacknowledged = []         # client eventIds given up on
        self.client_errors = []          # what ended a client early

    def answered(self, response):
        with self.lock:
            self.statuses[response.status_code] += 1
            retry_after = response.headers.get("Retry-After", "")
            if response.status_code != 202 and not (response.status_code == 503 and retry_after.isdigit()):
                self.wrong.append((response.status_code, retry_after, response.text[:300]))

    def failed(self, error):
        with self.lock:
            self.statuses[type(error).__name__] += 1


class Client:
    def __init__(self, n, target, ledger, uniq, comps, stop):
        self.target = target
        self.ledger = ledger
        self.comps = comps
        self.session = uniq.session
        self.keyword = uniq.keyword()
        self.stop = stop
        self.batch = n >= SINGLE_CLIENTS
        self.rng = random.Random(f"{self.session}-{n}")
        self.http = TrackerClient()

    def event(self):
        event_type = self.rng.choice(EVENT_TYPES)
        metadata = {"componentId": self.comps[event_type], "elementId": f"element-{self.rng.randrange(50)}"}
        if event_type == "SEARCH":
            metadata["keyword"] = self.keyword
        return {"eventType": event_type, "userId": self.rng.randrange(1, 1000), "sessionId": self.session,
                "eventId": str(uuid.uuid4()), "metadata": metadata}

    def run(self):
        try:
            while not self.stop.is_set():
                events = [self.event() for _ in range(self.rng.randrange(1, 40) if self.batch else 1)]
                if self.batch:
                    answer = self.send("/api/events/batch", {"events": events})
                    ids = answer and answer["eventIds"]
                    if answer and (answer["accepted"] != len(events) or answer["rejected"]):
                        raise AssertionError(f"a valid batch was not taken whole: {answer}")
                else:
                    answer = self.send("/api/events", events[0])
                    ids = answer and [answer["eventId"]]
                with self.ledger.lock:
                    for event, event_id in zip(events, ids or [None] * len(events)):
                        self.ledger.kind[event["eventId"]] = (event["eventType"], event["metadata"]["componentId"])
                        if event_id is None:
                            self.ledger.unacknowledged.append(event["eventId"])
                        else:
                            self.ledger.acked[event["eventId"]] = event_id
        except Exception as error:  # reported by the test
            with self.ledger.lock:
                self.ledger.client_errors.append(repr(error))
        finally:
            self.http.close()

    def send(self, path, body):
        """The same request until it is acknowledged: the JSON answer, or None if it never was."""
        deadline = time.monotonic() + GIVE_UP_AFTER
        while time.monotonic() < deadline:
            try:
                response = self.http.post(self.target.get().url(path), json=body, timeout=REQUEST_TIMEOUT)
            except requests.RequestException as error:  # the server is down or was killed mid-request
                self.ledger.failed(error)
                time.sleep(0.05)
                continue
            self.ledger.answered(response)
            if response.status_code == 202:
                return response.json()
            if response.status_code < 500:  # a valid request refused: repeating it will not help
                return None
            # A 503 (Retry-After says 1 s; retried sooner to keep the pressure on), or a wrong
            # 5xx, noted by the ledger: a client retries both.
            time.sleep(0.1)
        return None


class Chaos:
    """The faults, in order, each followed by a pause while the clients keep sending."""

    def __init__(self, start_server, server_args, pg_dsn, redis_service, target):
        self.start_server = start_server
        self.pg_dsn = pg_dsn
        self.server_args = server_args
        self.redis_service = redis_service
        self.target = target
        self.log = []

    def note(self, what):
        self.log.append(what)

    def kill_server(self):
        self.target.get().crash()
        self.target.set(self.start_server(*self.server_args))
        self.note("server kill -9")

    def kill_redis(self, down_seconds):
        self.redis_service.crash()
        time.sleep(down_seconds)
        self.redis_service.start()  # replays the AOF
        self.note("Redis kill -9")

    def stop_postgres(self, down_seconds):
        dev_sh("pg-stop")
        try:
            # The server's database must really be gone (tools/dev.sh acts on TRACKER_PG_PORT).
            with pytest.raises(psycopg2.OperationalError):
                psycopg2.connect(self.pg_dsn, connect_timeout=3).close()
            time.sleep(down_seconds)
        finally:
            dev_sh("pg-start")
        self.note("PostgreSQL stop")


def count_rows(dsn, session):
    with psycopg2.connect(dsn, connect_timeout=10) as connection, connection.cursor() as cursor:
        cursor.execute("select id::text, event_type, component_id from events where session_id = %s", (session,))
        return cursor.fetchall()


def test_acknowledged_events_survive_server_redis_and_postgres_crashes(
        start_server, redis_service, private_database, uniq):
    if redis_service.shared:
        pytest.skip("kills Redis: needs the suite's private Redis (not TRACKER_E2E_REDIS=shared)")
    comps = {event_type: uniq.comp() for event_type in EVENT_TYPES}
    server_args = (*FLUSHER_ON, f"--pg-dsn={private_database}", "--redis-timeout-ms=1000")
    target = Target(start_server(*server_args))
    chaos = Chaos(start_server, server_args, private_database, redis_service, target)
    ledger = Ledger()
    stop = threading.Event()
    clients = [Client(n, target, ledger, uniq, comps, stop) for n in range(SINGLE_CLIENTS + BATCH_CLIENTS)]
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    rng = random.Random(uniq.token)
    try:
        # About 50 s of faults: four server kills, two Redis kills, one PostgreSQL stop.
        for fault in (chaos.kill_server, lambda: chaos.kill_redis(1.0), chaos.kill_server,
                      lambda: chaos.stop_postgres(4.0), chaos.kill_server,
                      lambda: chaos.kill_redis(1.5), chaos.kill_server):
            time.sleep(rng.uniform(3.0, 5.0))
            fault()
        time.sleep(3.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=GIVE_UP_AFTER + 15)
        if not redis_service.running():
            redis_service.start()
    assert not any(thread.is_alive() for thread in threads), "clients still running"
    assert chaos.log == ["server kill -9", "Redis kill -9", "server kill -9", "PostgreSQL stop",
                         "server kill -9", "Redis kill -9", "server kill -9"]

    assert not ledger.client_errors, ledger.client_errors
    assert len(ledger.acked) > 500, dict(ledger.statuses)

    # Every acknowledged id is in `events` exactly once, and nothing else of the run is.
    acked_ids = set(ledger.acked.values())
    assert len(acked_ids) == len(ledger.acked), "two client events were answered with one id"
    rows = []

    def all_rows_flushed():
        rows[:] = count_rows(private_database, uniq.session)
        return len(rows) >= len(acked_ids)
    wait_until(all_rows_flushed, 60, f"{len(acked_ids)} acknowledged events in PostgreSQL")
    stored = Counter(row[0] for row in rows)
    doubled = [event_id for event_id, n in stored.items() if n > 1]
    assert not doubled, f"{len(doubled)} events stored more than once, e.g. {doubled[:3]}"
    assert not acked_ids - set(stored), f"{len(acked_ids - set(stored))} acknowledged events are missing"
    assert set(stored) == acked_ids, f"{len(set(stored) - acked_ids)} events stored that were never acknowledged"

    # The statistics total of each event type and component equals the rows.
    row_counts = Counter((event_type, comp) for _, event_type, comp in rows)
    assert row_counts == Counter(ledger.kind[client_id] for client_id in ledger.acked)
    server = target.get()
    expected = {event_type: row_counts[(event_type, comp)] for event_type, comp in comps.items()}
    counts = {}

    def statistics_agree():
        for event_type, comp in comps.items():
            query = {"eventType": event_type, "componentId": comp}
            if event_type == "SEARCH":
                query["keyword"] = uniq.keyword()
            response = api.get(server.url("/api/statistics"), params=query, timeout=10)
            counts[event_type] = (response.json()["count"] if response.status_code == 200
                                  else f"HTTP {response.status_code}: {response.text[:200]}")
        return counts == expected
    try:
        wait_until(statistics_agree, 30, "the statistics to equal the rows")
    except AssertionError:
        pass  # the comparison below shows how they differ
    assert counts == expected, "the statistics total differs from the rows in events"

    # Every answer was a 202 or a 503 with Retry-After (connection errors while the server
    # was down were retried), and every request was acknowledged in the end. Checked last,
    # so that a wrong answer does not hide what happened to the data.
    assert not ledger.wrong, (f"{len(ledger.wrong)} answers other than 202 / 503 + Retry-After, "
                              f"statuses {dict(ledger.statuses)}; first: {ledger.wrong[:5]}")
    assert not ledger.unacknowledged, f"{len(ledger.unacknowledged)} events never acknowledged"
