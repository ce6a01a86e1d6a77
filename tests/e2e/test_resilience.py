"""The server under awkward conditions: slow and idle clients, many keep-alive connections,
Redis going away and coming back, a full backlog, and SIGTERM while requests are flowing."""

import json
import threading
import time

import requests

from support import (KeyedHTTPConnection,
    api, TrackerClient,HTTP_TIMEOUT, LOOPBACK, assert_error, post, raw_connect,
                     read_response, rows_with, stream_mark, stream_rows_since,
                     totals, uuid_v7_ms, wait_closed, watch_closes)

READ_TIMEOUT_MS = 700
IDLE_TIMEOUT_MS = 2000


def event_request(uniq, comp, keep_alive=True):
    body = json.dumps(uniq.event("CLICK", comp)).encode()
    head = (b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (len(body), b"" if keep_alive else b"Connection: close\r\n"))
    return head + body


# ---------------------------------------------------------------------------------------
# Slow and idle clients
# ---------------------------------------------------------------------------------------

def test_stalled_requests_are_cut_off_while_others_are_served(start_server, redis_client, uniq):
    server = start_server(f"--read-timeout-ms={READ_TIMEOUT_MS}",
                          f"--idle-timeout-ms={IDLE_TIMEOUT_MS}")
    comp = uniq.comp()
    full = event_request(uniq, comp)
    head_end = full.index(b"\r\n\r\n") + 4
    # More stalled clients than the server has I/O threads: half a header, and a complete
    # header with half a body.
    partials = [full[:40], full[:head_end - 10], full[:head_end + 20], full[:-5]] * 2
    stalled, sent_at = [], []
    mark = stream_mark(redis_client)
    try:
        for data in partials:
            sock = raw_connect(server)
            sock.sendall(data)
            stalled.append(sock)
            sent_at.append(time.monotonic())

        # Meanwhile other clients are served, on a kept-alive connection and on new ones.
        with TrackerClient() as session:
            for _ in range(5):
                response = session.post(server.url("/api/events"), timeout=HTTP_TIMEOUT,
                                        json=uniq.event("PAGE_VIEW", comp))
                assert response.status_code == 202, response.text
                assert api.get(server.url("/health/live"), timeout=HTTP_TIMEOUT).ok
        served_by = time.monotonic()

        closed_at, received = watch_closes(stalled, READ_TIMEOUT_MS / 1000 + 5)
    finally:
        for sock in stalled:
            sock.close()

    assert None not in closed_at, f"stalled requests never cut off: {closed_at}"
    assert served_by < min(closed_at), "the other clients were not served while requests stalled"
    for sent, closed in zip(sent_at, closed_at):
        assert READ_TIMEOUT_MS / 1000 * 0.8 <= closed - sent <= READ_TIMEOUT_MS / 1000 + 3, \
            [c - s for s, c in zip(sent_at, closed_at)]
    for data in received:  # nothing, or an error answer (408)
        assert not data or data.startswith(b"HTTP/1.1 4"), data
    # None of the cut-off requests was stored; the served ones were.
    assert totals(redis_client, comp)["CLICK"] == 0
    assert totals(redis_client, comp)["PAGE_VIEW"] == 5
    assert len(rows_with(stream_rows_since(redis_client, mark), uniq.token)) == 5


def test_trickling_client_is_cut_off_at_the_read_timeout(start_server, uniq):
    """One byte every 100 ms: still sending, but the whole request must arrive in time."""
    server = start_server(f"--read-timeout-ms={READ_TIMEOUT_MS}",
                          f"--idle-timeout-ms={IDLE_TIMEOUT_MS}")
    request = event_request(uniq, uniq.comp())
    with raw_connect(server) as sock:
        started = time.monotonic()
        cut_after = None
        for i in range(len(request)):  # ~200 bytes, ~20 s if never cut: bounded
            try:
                sock.sendall(request[i:i + 1])
            except OSError:
                cut_after = time.monotonic() - started
                break
            if wait_closed(sock, 0.1) is not None:
                cut_after = time.monotonic() - started
                break
        assert cut_after is not None and i < len(request) - 1, "the trickle was never cut off"
    assert READ_TIMEOUT_MS / 1000 * 0.8 <= cut_after <= READ_TIMEOUT_MS / 1000 + 3, cut_after


def test_idle_keep_alive_connection_is_closed(start_server, uniq):
    server = start_server(f"--read-timeout-ms={READ_TIMEOUT_MS}",
                          f"--idle-timeout-ms={IDLE_TIMEOUT_MS}")
    with raw_connect(server) as sock:
        sock.sendall(event_request(uniq, uniq.comp()))
        response, rest = read_response(sock)
        assert response.status == 202 and rest == b""
        assert (response.header("connection") or "").lower() != "close"
        answered = time.monotonic()
        # Still usable a while later (longer than the read timeout)...
        time.sleep(READ_TIMEOUT_MS / 1000 * 1.5)
        sock.sendall(event_request(uniq, uniq.comp()))
        response, _ = read_response(sock)
        assert response.status == 202
        answered = time.monotonic()
        # ...and closed once idle for the idle timeout.
        waited = wait_closed(sock, IDLE_TIMEOUT_MS / 1000 + 5)
    assert waited is not None, "the idle connection was never closed"
    idle = time.monotonic() - answered
    assert IDLE_TIMEOUT_MS / 1000 * 0.8 <= idle <= IDLE_TIMEOUT_MS / 1000 + 3, idle


def test_pipelined_requests_are_answered_in_order(start_server, redis_client, uniq):
    server = start_server()
    comp = uniq.comp()
    invalid = json.dumps(uniq.event("CLICK", comp, metadata={"componentId": 0})).encode()
    bad = (b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(invalid)) + invalid
    health = b"GET /health/live HTTP/1.1\r\nHost: e2e\r\n\r\n"
    requests_in_one_write = [event_request(uniq, comp), bad, health, event_request(uniq, comp),
                             event_request(uniq, comp, keep_alive=False)]
    with raw_connect(server) as sock:
        sock.sendall(b"".join(requests_in_one_write))
        rest = b""
        statuses = []
        for _ in requests_in_one_write:
            response, rest = read_response(sock, buffer=rest)
            statuses.append(response.status)
        assert rest == b""
        assert wait_closed(sock, 3) is not None  # after the Connection: close request
    assert statuses == [202, 400, 200, 202, 202]
    assert totals(redis_client, comp)["CLICK"] == 3


def test_expect_100_continue(start_server, redis_client, uniq):
    server = start_server()
    comp = uniq.comp()
    request = event_request(uniq, comp)
    head_end = request.index(b"\r\n\r\n") + 2
    head = request[:head_end] + b"Expect: 100-continue\r\n\r\n"
    with raw_connect(server) as sock:
        sock.sendall(head)
        interim, rest = read_response(sock)
        assert interim.status == 100
        sock.sendall(request[head_end + 2:])
        response, _ = read_response(sock, buffer=rest)
        assert response.status == 202, response.body
    assert totals(redis_client, comp)["CLICK"] == 1


def test_200_concurrent_keep_alive_connections(start_server, redis_client, uniq):
    server = start_server()
    comp = uniq.comp()
    connections, per_connection = 200, 20
    body = json.dumps(uniq.event("CLICK", comp))
    barrier = threading.Barrier(connections, timeout=60)
    ids, failures = [], []
    lock = threading.Lock()

    def client():
        conn = KeyedHTTPConnection(LOOPBACK, server.port, timeout=HTTP_TIMEOUT)
        try:
            conn.connect()
            local = conn.sock.getsockname()
            barrier.wait()  # all 200 connections are open at once
            mine = []
            for _ in range(per_connection):
                conn.request("POST", "/api/events", body=body,
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                if response.status != 202:
                    raise AssertionError(f"status {response.status}: {data!r}")
                if conn.sock is None or conn.sock.getsockname() != local:
                    raise AssertionError("the server did not keep the connection alive")
                mine.append(json.loads(data)["eventId"])
            with lock:
                ids.extend(mine)
        except Exception as error:  # reported below
            with lock:
                failures.append(repr(error))
            barrier.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "clients still running"
    assert not failures, failures[:5]
    assert len(ids) == len(set(ids)) == connections * per_connection
    assert totals(redis_client, comp)["CLICK"] == connections * per_connection


# ---------------------------------------------------------------------------------------
# Backing store trouble
# ---------------------------------------------------------------------------------------

def test_redis_outage(start_server, redis_service, redis_client, uniq):
    server = start_server("--redis-timeout-ms=1000")
    comp = uniq.comp()
    mark = stream_mark(redis_client)
    before = post(server, "/api/events", uniq.event("CLICK", comp))
    assert before.status_code == 202
    acknowledged = [before.json()["eventId"]]

    try:
        redis_service.stop()  # tools/dev.sh redis-stop
        for i in range(4):
            started = time.monotonic()
            path, body = (("/api/events", uniq.event("CLICK", comp)) if i % 2 == 0 else
                          ("/api/events/batch", {"events": [uniq.event("CLICK", comp)] * 3}))
            response = post(server, path, body)
            assert time.monotonic() - started < 5, "an answer took too long"
            assert response.status_code not in (202, 500)
            assert_error(response, 503)
            retry_after = response.headers.get("Retry-After")
            assert retry_after is not None and retry_after.isdigit(), response.headers
        ready = api.get(server.url("/health/ready"), timeout=HTTP_TIMEOUT)
        assert ready.status_code == 503, ready.text
        assert api.get(server.url("/health/live"), timeout=HTTP_TIMEOUT).status_code == 200
        assert server.alive()
    finally:
        if not redis_service.running():
            redis_service.start()  # tools/dev.sh redis-start

    # Ingestion recovers on its own within a few seconds.
    deadline = time.monotonic() + 15
    recovered = None
    while time.monotonic() < deadline:
        response = post(server, "/api/events", uniq.event("CLICK", comp))
        assert response.status_code in (202, 503), response.text
        if response.status_code == 202:
            recovered = response.json()["eventId"]
            break
        time.sleep(0.2)
    assert recovered, "ingestion did not recover after Redis came back"
    acknowledged.append(recovered)
    deadline = time.monotonic() + 5
    while api.get(server.url("/health/ready"), timeout=HTTP_TIMEOUT).status_code != 200:
        assert time.monotonic() < deadline, "/health/ready did not recover"
        time.sleep(0.1)

    # What was acknowledged before the outage survived it (the AOF), and so did the rest.
    stored = {row.split("\t", 1)[0] for row in
              rows_with(stream_rows_since(redis_client, mark), uniq.token)}
    assert set(acknowledged) <= stored


def test_backlog_high_water_answers_503(start_server, redis_client, uniq):
    server = start_server("--backlog-high-water=1")
    comp = uniq.comp()
    mark = stream_mark(redis_client)
    # At most the first event fits (if the stream happens to be empty); then it is full.
    answers = []
    for i in range(3):
        response = post(server, "/api/events", uniq.event("CLICK", comp, userId=i + 1))
        answers.append(response.status_code)
        if response.status_code == 503:
            break
    assert answers[-1] == 503, answers
    assert_error(response, 503, "OVERLOADED")
    assert response.headers.get("Retry-After", "").isdigit(), response.headers
    assert totals(redis_client, comp)["CLICK"] == answers.count(202)
    assert len(rows_with(stream_rows_since(redis_client, mark), uniq.token)) == answers.count(202)


# ---------------------------------------------------------------------------------------
# Shutdown
# ---------------------------------------------------------------------------------------

def test_sigterm_under_load_loses_no_acknowledged_event(start_server, redis_client, uniq):
    grace_ms = 5000
    server = start_server(grace_ms=grace_ms)
    comp = uniq.comp()
    mark = stream_mark(redis_client)
    acknowledged, statuses, errors = [], {}, []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(n):
        body = uniq.event("CLICK", comp, userId=n + 1)
        with TrackerClient() as session:
            for _ in range(20_000):  # bounded; stops on `stop` or once the server is gone
                if stop.is_set():
                    return
                try:
                    response = session.post(server.url("/api/events"), json=body, timeout=5)
                except requests.RequestException as error:
                    with lock:
                        errors.append(type(error).__name__)
                    if not server.alive():
                        return
                    time.sleep(0.01)
                    continue
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 202:
                        acknowledged.append(response.json()["eventId"])

    threads = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        with lock:
            before_signal = len(acknowledged)
        assert before_signal > 0, (statuses, errors[:5])
        signalled = time.monotonic()
        server.terminate()
        rc = server.wait(grace_ms / 1000 + 5)
        exit_seconds = time.monotonic() - signalled
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert rc == 0, f"exit code {rc}\n{server.log_tail()}"
    assert exit_seconds <= grace_ms / 1000 + 1, exit_seconds
    assert set(statuses) <= {202}, statuses

    stored = {row.split("\t", 1)[0] for row in
              rows_with(stream_rows_since(redis_client, mark), uniq.token)}
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged events are not in the stream"
    assert len(acknowledged) == len(set(acknowledged))
    assert totals(redis_client, comp)["CLICK"] == len(stored)


def test_request_in_flight_during_sigterm_is_completed(start_server, redis_client, uniq):
    server = start_server(grace_ms=5000)
    comp = uniq.comp()
    mark = stream_mark(redis_client)
    request = event_request(uniq, comp)
    idle = raw_connect(server)  # an idle kept-alive connection: closed at SIGTERM
    try:
        with raw_connect(server) as busy:
            busy.sendall(request[:-10])
            time.sleep(0.3)
            server.terminate()
            time.sleep(0.5)
            assert server.alive(), "the server exited with a request in flight"
            assert wait_closed(idle, 3) is not None, "an idle connection stayed open at SIGTERM"
            # No new connections are taken any more.
            try:
                raw_connect(server, timeout=2).close()
                accepted_new = True
            except OSError:
                accepted_new = False
            assert not accepted_new, "a new connection was accepted while draining"

            busy.sendall(request[-10:])
            response, _ = read_response(busy)
            assert response.status == 202, response.body
            assert (response.header("connection") or "").lower() == "close"
            event_id = response.json()["eventId"]
            uuid_v7_ms(event_id)
            assert wait_closed(busy, 3) is not None
    finally:
        idle.close()
    assert server.wait(5) == 0, server.log_tail()
    rows = rows_with(stream_rows_since(redis_client, mark), uniq.token)
    assert [row.split("\t", 1)[0] for row in rows] == [event_id]
