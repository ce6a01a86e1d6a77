"""Query parameters and query shapes, end to end: every combination of range parameters
answers 200 or 400 (never a crash), counters keep nasty keywords apart in Redis and in
PostgreSQL, query text is held to the same rules as bodies, and keywords are normalised
alike wherever they arrive.
"""

import itertools
import random
import re
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest
import requests

from conftest import PG_DSN
from support import KeyedHTTPConnection, api, HTTP_TIMEOUT, LOOPBACK, assert_error, post

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FAST_FLUSH = ("--flusher=true", "--flush-interval-ms=20", "--counter-flush-interval-ms=50")


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory()


def raw_get(server, target):
    """GET with the target exactly as given (no client-side quoting or clean-up)."""
    connection = KeyedHTTPConnection(LOOPBACK, server.port, timeout=HTTP_TIMEOUT)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def search_event(uniq, comp, keyword, user=None):
    return uniq.event("SEARCH", comp=comp, userId=user or uniq.user(), metadata={"keyword": keyword})


def count(server, **params):
    response = api.get(server.url("/api/statistics"), params=params, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, (params, response.text)
    return response.json()["count"]


def series_total(server, **params):
    response = api.get(server.url("/api/statistics/series"), params=params, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, (params, response.text)
    body = response.json()
    assert body["total"] == sum(bucket["count"] for bucket in body["buckets"])
    return body["total"]


# ---------------------------------------------------------------------------------------
# Ranges: any combination of from, to, interval, date, window and limit is a 200 or a 400


def test_to_alone_and_from_alone_are_answered(server, uniq):
    comp = uniq.comp()
    assert post(server, "/api/events", uniq.event("CLICK", comp=comp)).status_code == 202
    ahead = iso(datetime.now(timezone.utc) + timedelta(minutes=3))
    for params in ({"to": "1970-01-01T00:00:00Z"}, {"to": "1969-12-31T23:59:00Z"}, {"from": ahead},
                   {"from": "2000-01-01T00:00:00Z"}, {"to": "9999-12-31T23:59:59.999Z"}):
        response = api.get(server.url("/api/statistics"),
                                params={"eventType": "CLICK", "componentId": comp, **params}, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, (params, response.text)
        expected = 1 if params.get("from") == "2000-01-01T00:00:00Z" or params.get("to", "").startswith("9999") else 0
        assert response.json() == {"count": expected}, params
    assert server.alive()


def test_every_range_combination_answers_200_or_400(server, uniq):
    now = datetime.now(timezone.utc)
    times = [None, "", "garbage", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", iso(now - timedelta(hours=1)),
             iso(now + timedelta(minutes=4)), "0000-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00",
             "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59-23:59", "9999-12-31T00:00:00Z"]
    intervals = [None, "minute", "hour", "day", "week", ""]
    comp = uniq.comp()
    checked = 0

    def check(path, params):
        nonlocal checked
        params = {k: v for k, v in params.items() if v is not None}
        try:
            response = api.get(server.url(path), params=params, timeout=HTTP_TIMEOUT)
        except requests.ConnectionError as error:
            pytest.fail(f"{path} {params}: the server went away ({error})")
        assert response.status_code in (200, 400), (path, params, response.status_code, response.text)
        if response.status_code == 400:
            assert_error(response, 400)
        elif path == "/api/statistics/series":
            body = response.json()
            for stamp in [body["from"], body["to"]] + [b["start"] for b in body["buckets"][:3] + body["buckets"][-3:]]:
                assert RFC3339.match(stamp), (params, stamp)
        checked += 1

    for start, end in itertools.product(times, times):
        check("/api/statistics", {"eventType": "CLICK", "componentId": comp, "from": start, "to": end})
        for interval in intervals:
            check("/api/statistics/series", {"eventType": "CLICK", "componentId": comp, "from": start, "to": end,
                                             "interval": interval})
    for day in (None, "", "2026-11-25", "0000-01-01", "9999-12-31", "2026-02-30", "1-1-1", "99999-01-01"):
        check("/api/statistics/unique-users", {"eventType": "SEARCH", "date": day})
    for window, limit in itertools.product((None, "", "1h", "24h", "1d", "7d", "30d"),
                                           (None, "", "0", "1", "100", "101", "-1", "99999999999999999999", "x")):
        check("/api/statistics/top-posts", {"eventType": "LIKE", "window": window, "limit": limit})
        check("/api/statistics/keywords", {"window": window, "limit": limit})
    assert server.alive() and checked > 1000


def test_series_to_the_end_of_year_9999_prints_rfc3339_or_is_refused(server, uniq):
    for interval in ("minute", "hour", "day"):
        response = api.get(server.url("/api/statistics/series"),
                                params={"eventType": "CLICK", "interval": interval, "from": "9999-12-31T20:00:00Z",
                                        "to": "9999-12-31T23:59:59Z"}, timeout=HTTP_TIMEOUT)
        if response.status_code == 400:
            assert_error(response, 400, "INVALID_VALUE", "to")
            continue
        assert response.status_code == 200, response.text
        body = response.json()
        assert RFC3339.match(body["to"]) and body["to"].startswith("9999-"), body["to"]


# ---------------------------------------------------------------------------------------
# Query shapes: one encoding, no value of a keyword means "any"


def test_a_keyword_of_star_is_counted_once(server, uniq):
    comp = uniq.comp()
    for keyword in ("*", "*", "*", "cats"):
        assert post(server, "/api/events", search_event(uniq, comp, keyword)).status_code == 202
    assert series_total(server, eventType="SEARCH", componentId=comp, interval="minute") == 4
    assert count(server, eventType="SEARCH", componentId=comp, keyword="*") == 3
    assert count(server, eventType="SEARCH", componentId=comp, keyword="cats") == 1
    assert series_total(server, eventType="SEARCH", componentId=comp, keyword="*") == 3


NASTY = ["*", "**", "|", "a|b", "|*", "*|", ":", "a:b", "\\", "\\*", "%", "%2A", "'", '"', "Cats", "cats", " cats",
         "#cats", "##cats", "고양이", "ÄÖ", "🍜 ramen", "x" * 256, "é" * 128, "a\u00a0b", "\u3000wide\u3000"]


def normalised(keyword):
    """The server's keyword rule: Unicode white space trimmed, one leading '#' dropped,
    trimmed again, ASCII letters lower-cased."""
    text = keyword.strip()
    if text.startswith("#"):
        text = text[1:].strip()
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in text)


def test_random_events_with_nasty_keywords_count_exactly_in_redis_and_postgresql(start_server, uniq):
    server = start_server(*FAST_FLUSH)
    rng = random.Random(uniq.token)
    comp = uniq.comp()
    posts = [uniq.post(), uniq.post()]
    sent, events = [], []  # (normalised keyword, post), and the events as sent
    for _ in range(120):
        keyword = rng.choice(NASTY)
        post_id = rng.choice(posts + [None])
        body = search_event(uniq, comp, keyword)
        if post_id:
            body["metadata"]["postId"] = post_id
        sent.append((normalised(keyword), post_id))
        events.append(body)
    # Half as single events, half in batches: the two ingest paths.
    for body in events[:60]:
        assert post(server, "/api/events", body).status_code == 202
    for start in range(60, 120, 20):
        response = post(server, "/api/events/batch", {"events": events[start:start + 20]})
        assert response.status_code == 202 and response.json()["accepted"] == 20, response.text

    by_keyword = Counter(keyword for keyword, _ in sent)
    by_post_keyword = Counter((post_id, keyword) for keyword, post_id in sent if post_id)

    def expect_api():
        # A stored keyword is asked for with a '#' in front: the server drops it again.
        assert count(server, eventType="SEARCH", componentId=comp, keyword="*") == by_keyword["*"]
        assert series_total(server, eventType="SEARCH", componentId=comp) == len(sent)
        for keyword, n in by_keyword.items():
            assert count(server, eventType="SEARCH", componentId=comp, keyword="#" + keyword) == n, keyword
            assert series_total(server, eventType="SEARCH", componentId=comp, keyword="#" + keyword) == n, keyword
        for (post_id, keyword), n in by_post_keyword.items():
            assert count(server, eventType="SEARCH", componentId=comp, postId=post_id, keyword="#" + keyword) == n

    expect_api()  # Redis's part, live or in a snapshot
    with psycopg2.connect(PG_DSN) as db, db.cursor() as cursor:
        deadline = time.monotonic() + 30
        while True:
            cursor.execute("select keyword, post_id, count from event_totals where event_type = 'SEARCH' "
                           "and component_id = %s", (comp,))
            rows = {(keyword, post_id): n for keyword, post_id, n in cursor.fetchall()}
            db.commit()
            if rows.get(("", 0)) == len(sent) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert rows.get(("", 0)) == len(sent), rows
        for keyword, n in by_keyword.items():
            assert rows.get((keyword, 0)) == n, (keyword, rows)
        for (post_id, keyword), n in by_post_keyword.items():
            assert rows.get((keyword, post_id)) == n, (keyword, post_id, rows)
        assert sum(n for (keyword, post_id), n in rows.items() if keyword and not post_id) == len(sent)
    expect_api()  # now from PostgreSQL


def test_one_keyword_rule_for_events_statistics_search_and_recent_keywords(server, uniq):
    comp, user = uniq.comp(), uniq.user()
    word = f"Cats{uniq.token}"
    for spelling in (word, word.lower(), f" {word}", f"#{word}", f"\u3000{word.upper()}\u00a0"):
        assert post(server, "/api/events", search_event(uniq, comp, spelling, user=user)).status_code == 202
    assert count(server, eventType="SEARCH", componentId=comp, keyword=word.lower()) == 5
    assert count(server, eventType="SEARCH", componentId=comp, keyword=f"#{word.upper()}") == 5
    response = api.get(server.url(f"/api/search/recent/{user}"), timeout=HTTP_TIMEOUT)
    assert response.json()["keywords"] == [word.lower()]
    response = api.get(server.url("/api/search"), params={"keyword": f" #{word}", "userId": user},
                            timeout=HTTP_TIMEOUT)
    assert response.status_code == 200 and response.json()["keyword"] == word.lower(), response.text


@pytest.mark.parametrize("blank", ["\u3000", "\u00a0", " \u2003\u200a", "#\u3000"])
def test_unicode_blank_texts_are_refused(server, uniq, blank):
    assert_error(post(server, "/api/events", search_event(uniq, uniq.comp(), blank)), 400, field="metadata.keyword")
    if not blank.strip():  # white space only, not just a blank keyword or hashtag
        body = uniq.event("CLICK")
        body["sessionId"] = blank
        assert_error(post(server, "/api/events", body), 400, field="sessionId")
        assert_error(post(server, "/api/posts", {"userId": 1, "content": blank}), 400, field="content")
    assert_error(post(server, "/api/posts", {"userId": 1, "content": "x", "hashtags": [blank]}), 400,
                 field="hashtags[0]")
    response = api.get(server.url("/api/statistics"),
                            params={"eventType": "SEARCH", "componentId": 1, "keyword": blank}, timeout=HTTP_TIMEOUT)
    assert_error(response, 400, field="keyword")


# ---------------------------------------------------------------------------------------
# Query text: valid UTF-8, no control characters, empty parameters ignored


@pytest.mark.parametrize("target", [
    "/api/search?userId=1&keyword=%C3",
    "/api/search?userId=1&keyword=x2%00zzz",
    "/api/statistics?eventType=SEARCH&componentId=1&keyword=%FF",
    "/api/statistics?eventType=SEARCH&componentId=1&keyword=x2%00zzz",
    "/api/statistics/series?eventType=SEARCH&keyword=%FF",
    "/api/statistics/series?eventType=SEARCH&keyword=x2%00zzz",
    "/api/statistics/series?eventType=SEARCH&keyword=a%0Ab",
    "/api/statistics/keywords?window=%C0%AF",
    "/api/search/recent/1?x=%ED%A0%80",
    "/api/posts/1?%FF=1",
])
def test_query_text_must_be_utf8_without_control_characters(server, target):
    status, body = raw_get(server, target)
    assert status == 400, (target, status, body)
    assert b"PostgreSQL" not in body and b"ERROR" not in body and b"malformed" not in body, body


def test_nul_in_a_keyword_is_not_cut_off(server, uniq):
    comp = uniq.comp()
    assert post(server, "/api/events", search_event(uniq, comp, "x2")).status_code == 202
    status, _ = raw_get(server, f"/api/statistics?eventType=SEARCH&componentId={comp}&keyword=x2%00zzz")
    assert status == 400


@pytest.mark.parametrize("target", [
    "/api/statistics/summary?",
    "/api/statistics/summary?&",
    "/api/statistics/summary?&&",
    "/api/statistics/keywords?window=1h&&limit=3&",
    "/api/search/recent/1?",
    "/api/search?keyword=cats&&",
])
def test_empty_query_parameters_are_ignored(server, target):
    status, body = raw_get(server, target)
    assert status == 200, (target, status, body)
