"""GET /api/statistics and its extensions: exact and real-time while flushes run.

A count is PostgreSQL's part plus Redis's (live counters and snapshots in flight); these
tests read it continuously while events arrive and the flusher moves them.
"""

import re
import threading
import time
from datetime import datetime

import pytest

from support import api, HTTP_TIMEOUT, post

pytestmark = pytest.mark.on_cluster

FAST_FLUSH = ("--flusher=true", "--flush-interval-ms=20", "--counter-flush-interval-ms=50")
FAST_RANKINGS = "--ranking-refresh-ms=100"


def ranking(server, path, field, wanted, **params):
    """Polls a ranking until `wanted` is in it: rankings are computed in the background,
    so a new event shows there within one refresh interval, not at once."""
    deadline = time.monotonic() + 10
    while True:
        response = api.get(server.url(path), params=params, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
        body = response.json()
        if wanted in body[field] or time.monotonic() > deadline:
            assert wanted in body[field], (wanted, body)
            return body
        time.sleep(0.05)


# PostgreSQL readings reused for up to 500 ms while snapshots are applied every 50 ms.
CACHED_READS = ("--statistics-cache-ms=500",)
MINUTE_MS = 60_000


def count(server, **params):
    response = api.get(server.url("/api/statistics"), params=params, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["count"]


def metric(server, name):
    text = api.get(server.url("/metrics"), timeout=HTTP_TIMEOUT).text
    found = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    return int(found.group(1)) if found else 0


def series_total(server, **params):
    response = api.get(server.url("/api/statistics/series"), params={**params, "interval": "minute"},
                            timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == sum(bucket["count"] for bucket in body["buckets"])
    return body["total"]


def test_counts_stay_exact_and_monotonic_while_flushes_run(start_server, uniq):
    server = start_server(*FAST_FLUSH, *CACHED_READS)
    comp, post_id = uniq.comp(), uniq.post()
    key = {"eventType": "LIKE", "componentId": comp, "postId": post_id}
    # Each reader reads the all-time count, the count from a time (per-minute buckets) and
    # the per-minute series in turn: three paths through PostgreSQL and Redis.
    reads = [lambda: count(server, **key),
             lambda: count(server, **key, **{"from": "2000-01-01T00:00:00Z"}),
             lambda: series_total(server, **key)]
    acknowledged = 0  # answered 202
    sent = 0          # handed to the server (an event counts from when Redis stores it,
                      # which is before its 202 arrives here)
    lock = threading.Lock()
    done = threading.Event()
    violations = []
    readings = []

    def reader(offset):
        last = 0
        turn = offset
        while not done.is_set():
            with lock:
                before = acknowledged
            value = reads[turn % len(reads)]()
            turn += 1
            with lock:
                after = sent
            readings.append(value)
            if not before <= value <= after:
                violations.append(f"read {value}: acknowledged before the read {before}, sent after it {after}")
            if value < last:
                violations.append(f"count went down from {last} to {value}")
            last = value

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for thread in readers:
        thread.start()
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a speed check
        for i in range(1500):
            assert time.monotonic() < deadline
            event = uniq.event("LIKE", comp=comp, userId=i + 1, metadata={"postId": post_id})
            if i % 10 == 0:
                # Late events: counted in a minute of the last hours, not in the current one.
                event["timestamp"] = int(time.time() * 1000) - (1 + i % 180) * MINUTE_MS
            with lock:
                sent += 1
            response = post(server, "/api/events", event)
            assert response.status_code == 202, response.text
            with lock:
                acknowledged += 1
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=30)
    assert not violations, violations[:10]
    assert len(readings) > 50, "the readers must have overlapped many flushes"
    assert all(read() == 1500 for read in reads)
    assert metric(server, 'tracker_statistics_archive_cache_total{kind="reading",result="hit"}') > 0, \
        "the readers must have reused PostgreSQL readings"
    # After everything is in PostgreSQL the answer is the same.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        summary = api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT).json()
        if summary["pendingPersistence"] == 0:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    assert count(server, **key) == 1500
    assert count(server, eventType="LIKE", componentId=comp, postId=post_id) == 1500
    assert series_total(server, **key) == 1500


def test_unlike_lowers_the_like_count_never_below_zero(start_server, uniq):
    server = start_server(*FAST_FLUSH)
    comp, post_id, user = uniq.comp(), uniq.post(), uniq.user()
    key = {"eventType": "LIKE", "componentId": comp, "postId": post_id}
    sequence = ["LIKE", "LIKE", "UNLIKE", "UNLIKE", "UNLIKE", "LIKE"]
    expected = [1, 2, 1, 0, 0, 1]
    for event_type, want in zip(sequence, expected):
        response = post(server, "/api/events", uniq.event(event_type, comp=comp, userId=user,
                                                         metadata={"postId": post_id}))
        assert response.status_code == 202
        assert count(server, **key) == want
        time.sleep(0.1)  # let a flush happen between some steps
    assert count(server, eventType="UNLIKE", componentId=comp, postId=post_id) == 3


def test_time_ranges_series_and_rankings(start_server, uniq):
    server = start_server(*FAST_FLUSH, FAST_RANKINGS)
    comp, post_id = uniq.comp(), uniq.post()
    keyword = uniq.keyword()
    for i in range(7):
        post(server, "/api/events", uniq.event("CLICK", comp=comp, metadata={"postId": post_id}))
    for i in range(3):
        post(server, "/api/events", uniq.event("SEARCH", comp=comp, userId=i + 1, metadata={"keyword": keyword}))
    time.sleep(0.3)

    assert count(server, eventType="CLICK", componentId=comp) == 7
    assert count(server, eventType="CLICK", componentId=comp, postId=post_id) == 7
    assert count(server, eventType="SEARCH", componentId=comp, keyword=keyword) == 3
    assert count(server, eventType="CLICK", componentId=comp, **{"from": "2000-01-01T00:00:00Z"}) == 7
    assert count(server, eventType="CLICK", componentId=comp, **{"to": "2000-01-01T00:00:00Z"}) == 0

    series = api.get(server.url("/api/statistics/series"), timeout=HTTP_TIMEOUT,
                          params={"eventType": "CLICK", "componentId": comp, "interval": "minute"}).json()
    assert series["total"] == 7
    assert len(series["buckets"]) in (24 * 60, 24 * 60 + 1)  # the current minute is included
    assert sum(b["count"] for b in series["buckets"]) == 7
    hourly = api.get(server.url("/api/statistics/series"), timeout=HTTP_TIMEOUT,
                          params={"eventType": "CLICK", "componentId": comp, "interval": "hour"}).json()
    assert hourly["total"] == 7 and len(hourly["buckets"]) in (24, 25)

    top = ranking(server, "/api/statistics/top-posts", "posts", {"postId": post_id, "count": 7},
                  eventType="CLICK", window="1h", limit=100)
    assert top["eventType"] == "CLICK" and top["window"] == "1h"
    ranking(server, "/api/statistics/keywords", "keywords", {"keyword": keyword, "count": 3},
            window="24h", limit=100)
    users = api.get(server.url("/api/statistics/unique-users"), timeout=HTTP_TIMEOUT,
                         params={"eventType": "SEARCH"}).json()
    assert users["uniqueUsers"] >= 3 and users["approximate"] is True
    summary = api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT).json()
    assert summary["totals"]["CLICK"] >= 7 and "pendingPersistence" in summary


def test_rankings_sum_the_window_and_net_out_unlikes(start_server, uniq):
    server = start_server(FAST_RANKINGS)
    comp = uniq.comp()
    first, second, third = uniq.post(), uniq.post(), uniq.post()
    events = [uniq.event("LIKE", comp=comp, userId=1, metadata={"postId": first}) for _ in range(40)]
    events += [uniq.event("LIKE", comp=comp, userId=1, metadata={"postId": second}) for _ in range(30)]
    events += [uniq.event("LIKE", comp=comp, userId=1, metadata={"postId": third}) for _ in range(20)]
    # More posts in the same call than the script increments one by one (it then reads all
    # scores with one command and writes the sums with another).
    more = {uniq.post(): 11 + i for i in range(5)}
    for post_id, likes in more.items():
        events += [uniq.event("LIKE", comp=comp, userId=1, metadata={"postId": post_id}) for _ in range(likes)]
    assert post(server, "/api/events/batch", {"events": events}).status_code == 202
    # UNLIKEs take back likes (never below zero): 30 - 12 = 18 puts the second post last.
    unlikes = [uniq.event("UNLIKE", comp=comp, userId=1, metadata={"postId": second}) for _ in range(12)]
    assert post(server, "/api/events/batch", {"events": unlikes}).status_code == 202

    started = time.time()
    for window in ("1h", "24h", "7d"):
        body = ranking(server, "/api/statistics/top-posts", "posts", {"postId": second, "count": 18},
                       eventType="LIKE", window=window, limit=100)
        ours = [entry for entry in body["posts"] if entry["postId"] in (first, second, third)]
        assert ours == [{"postId": first, "count": 40}, {"postId": third, "count": 20},
                        {"postId": second, "count": 18}], (window, body)
        for post_id, likes in more.items():
            assert {"postId": post_id, "count": likes} in body["posts"], (window, post_id, body)
        counts = [entry["count"] for entry in body["posts"]]
        assert counts == sorted(counts, reverse=True) and all(c > 0 for c in counts)
        as_of = datetime.fromisoformat(body["asOf"].replace("Z", "+00:00")).timestamp()
        assert started - 60 < as_of < time.time() + 1, body["asOf"]
    limited = api.get(server.url("/api/statistics/top-posts"), timeout=HTTP_TIMEOUT,
                           params={"eventType": "LIKE", "window": "24h", "limit": 2}).json()
    assert len(limited["posts"]) == 2


def test_statistics_reject_bad_queries(start_server):
    server = start_server()
    cases = [
        ("/api/statistics", {}, "eventType"),
        ("/api/statistics", {"eventType": "NOPE", "componentId": 1}, "eventType"),
        ("/api/statistics", {"eventType": "CLICK"}, "componentId"),
        ("/api/statistics", {"eventType": "CLICK", "componentId": "x"}, "componentId"),
        ("/api/statistics", {"eventType": "CLICK", "componentId": 0}, "componentId"),
        ("/api/statistics", {"eventType": "LIKE", "componentId": 1003}, "postId"),
        ("/api/statistics", {"eventType": "SEARCH", "componentId": 1001}, "keyword"),
        ("/api/statistics", {"eventType": "CLICK", "componentId": 1, "from": "yesterday"}, "from"),
        ("/api/statistics", {"eventType": "CLICK", "componentId": 1, "bogus": 1}, "bogus"),
        ("/api/statistics/series", {"eventType": "CLICK", "interval": "week"}, "interval"),
        ("/api/statistics/series", {"eventType": "CLICK", "from": "2000-01-01T00:00:00Z"}, "from"),
        ("/api/statistics/top-posts", {"eventType": "SEARCH"}, "eventType"),
        ("/api/statistics/top-posts", {"window": "3y"}, "window"),
        ("/api/statistics/keywords", {"limit": 1000}, "limit"),
        ("/api/statistics/unique-users", {"eventType": "CLICK", "date": "2026-13-01"}, "date"),
    ]
    for path, params, field in cases:
        response = api.get(server.url(path), params=params, timeout=HTTP_TIMEOUT)
        assert response.status_code == 400, (path, params, response.text)
        error = response.json()["error"]
        assert error["field"] == field, (path, params, error)
        assert error["code"] and error["message"]
