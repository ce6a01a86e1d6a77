"""LIKE counts and series when an UNLIKE lands in another minute than the like it undoes.

The rule (README, statistics): an UNLIKE takes back the post's most recent standing LIKE,
in the minute that LIKE was counted in. Every LIKE bucket therefore counts the likes made
in it that still stand: never below zero, and a count over a range is the sum of the
series' buckets over the same range. These tests check both against a model of the rule,
live and again after everything has been flushed to PostgreSQL.
"""

import os
import random
import time

import psycopg2

from support import api, HTTP_TIMEOUT, post

FAST_FLUSH = ("--flusher=true", "--flush-interval-ms=20", "--counter-flush-interval-ms=50")
MINUTE_MS = 60_000
PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def count(server, key, from_ms, to_ms):
    response = api.get(server.url("/api/statistics"), timeout=HTTP_TIMEOUT,
                            params={**key, "from": rfc3339(from_ms), "to": rfc3339(to_ms)})
    assert response.status_code == 200, response.text
    return response.json()["count"]


def series(server, key, from_ms, to_ms, interval="minute"):
    response = api.get(server.url("/api/statistics/series"), timeout=HTTP_TIMEOUT,
                            params={**key, "interval": interval, "from": rfc3339(from_ms), "to": rfc3339(to_ms)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == sum(bucket["count"] for bucket in body["buckets"]), body
    return body


def wait_persisted(server):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        summary = api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT).json()
        if summary["pendingPersistence"] == 0:
            time.sleep(0.3)  # and a counter flush after the last event
            return
        time.sleep(0.05)
    raise AssertionError("events still pending after 30 s")


def stats_rows(comp, post_id):
    with psycopg2.connect(PG_DSN, connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("select (extract(epoch from bucket) * 1000)::bigint, count from event_stats"
                       " where event_type = 'LIKE' and component_id = %s and post_id = %s", (comp, post_id))
        return dict(cursor.fetchall())


def minute_of(ms):
    return ms // MINUTE_MS * MINUTE_MS


def test_an_unlike_takes_back_its_like_in_the_likes_minute(start_server, uniq):
    server = start_server(*FAST_FLUSH)
    comp, post_id, user = uniq.comp(), uniq.post(), uniq.user()
    key = {"eventType": "LIKE", "componentId": comp, "postId": post_id}
    now = int(time.time() * 1000)
    liked_at = now - 2 * 3_600_000
    like = uniq.event("LIKE", comp=comp, userId=user, metadata={"postId": post_id}, timestamp=liked_at)
    assert post(server, "/api/events", like).status_code == 202
    assert post(server, "/api/events", uniq.event("UNLIKE", comp=comp, userId=user,
                                                  metadata={"postId": post_id})).status_code == 202

    def check():
        # The last 30 minutes hold the UNLIKE only; the last 3 hours both.
        for from_ms in (minute_of(now) - 30 * MINUTE_MS, minute_of(now) - 180 * MINUTE_MS):
            to_ms = minute_of(now) + 2 * MINUTE_MS
            body = series(server, key, from_ms, to_ms)
            assert all(bucket["count"] == 0 for bucket in body["buckets"]), body
            assert body["total"] == 0 == count(server, key, from_ms, to_ms)
        # The like's own minute: taken back there.
        assert count(server, key, minute_of(liked_at), minute_of(liked_at) + MINUTE_MS) == 0

    check()
    wait_persisted(server)
    check()
    rows = stats_rows(comp, post_id)
    assert all(value >= 0 for value in rows.values()), rows
    assert rows.get(minute_of(liked_at), 0) == 0, rows


def test_random_likes_and_unlikes_at_random_times_agree_and_never_go_negative(start_server, uniq):
    server = start_server(*FAST_FLUSH)
    rng = random.Random(uniq.token)
    comp = uniq.comp()
    posts = [uniq.post(), uniq.post()]
    now = int(time.time() * 1000)
    # A model of the rule: per post, a stack of the minutes of its standing likes.
    standing = {p: [] for p in posts}
    buckets = {p: {} for p in posts}
    batch = []
    for _ in range(240):
        post_id = rng.choice(posts)
        at = now - rng.randrange(0, 23 * 3_600_000)
        kind = "LIKE" if rng.random() < 0.55 else "UNLIKE"
        batch.append(uniq.event(kind, comp=comp, userId=rng.randrange(1, 4), metadata={"postId": post_id},
                                timestamp=at))
        if kind == "LIKE":
            standing[post_id].append(minute_of(at))
            buckets[post_id][minute_of(at)] = buckets[post_id].get(minute_of(at), 0) + 1
        elif standing[post_id]:
            taken = standing[post_id].pop()
            buckets[post_id][taken] -= 1
        if len(batch) == rng.randrange(1, 25) or len(batch) >= 24:
            assert post(server, "/api/events/batch", {"events": batch}).status_code == 202
            batch = []
    if batch:
        assert post(server, "/api/events/batch", {"events": batch}).status_code == 202

    first, last = minute_of(now - 24 * 3_600_000), minute_of(now) + 2 * MINUTE_MS

    def expected(post_id, from_ms, to_ms):
        return sum(n for minute, n in buckets[post_id].items() if from_ms <= minute < to_ms)

    def check():
        for post_id in posts:
            key = {"eventType": "LIKE", "componentId": comp, "postId": post_id}
            body = series(server, key, first, last)
            assert all(bucket["count"] >= 0 for bucket in body["buckets"]), body
            assert body["total"] == len(standing[post_id])
            hourly = series(server, key, first // 3_600_000 * 3_600_000, last, "hour")
            assert all(bucket["count"] >= 0 for bucket in hourly["buckets"]), hourly
            assert hourly["total"] == len(standing[post_id])
            for _ in range(30):
                from_ms = minute_of(rng.randrange(first, last))
                to_ms = minute_of(rng.randrange(from_ms, last)) + MINUTE_MS
                want = expected(post_id, from_ms, to_ms)
                assert count(server, key, from_ms, to_ms) == want, (from_ms, to_ms)
                assert series(server, key, from_ms, to_ms)["total"] == want, (from_ms, to_ms)

    check()
    wait_persisted(server)
    check()
    for post_id in posts:
        rows = stats_rows(comp, post_id)
        assert all(value >= 0 for value in rows.values()), rows
