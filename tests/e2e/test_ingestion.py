"""Ingestion through HTTP and what it leaves in Redis: the stream entry (a COPY row), the
live counters, deduplication of client event ids, recent search keywords, likes."""

import json
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest

from support import (EVENT_TYPES, MINUTE_MS, MINUTES_LIVE, TOTALS_LIVE, assert_error, post, rows_with,
                     stream_mark, stream_rows_since, totals, uuid_v7_ms)

pytestmark = pytest.mark.on_cluster

RECENT_TTL_S = 37
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory(f"--recent-keywords-ttl-s={RECENT_TTL_S}")


def now_ms():
    return int(time.time() * 1000)


def rfc3339_ms(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def columns(row):
    """The COPY row: id, type, user, session, component, element, post, keyword, metadata,
    client time, server time."""
    cols = row.split("\t")
    assert len(cols) == 11, row
    return cols


def one_row(r, mark, token):
    rows = rows_with(stream_rows_since(r, mark), token)
    assert len(rows) == 1, rows
    return columns(rows[0])


def accept(server, body, path="/api/events"):
    response = post(server, path, body)
    assert response.status_code == 202, response.text
    return response.json()["eventId"]


def test_valid_event_is_stored_and_counted(server, redis_data, uniq):
    comp, user = uniq.comp(), uniq.user()
    mark = stream_mark(redis_data)
    before = now_ms()
    response = post(server, "/api/events",
                    uniq.event("CLICK", comp, userId=user,
                               metadata={"source": "e2e", "nested": {"a": [1, 2]}}))
    after = now_ms()

    assert response.status_code == 202, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"eventId"}, body
    event_id = body["eventId"]
    assert before - 2000 <= uuid_v7_ms(event_id) <= after + 2000

    cols = one_row(redis_data, mark, uniq.token)
    assert cols[0] == event_id
    assert cols[1:8] == ["CLICK", str(user), uniq.session, str(comp), "element-7", r"\N", r"\N"]
    metadata = json.loads(cols[8])
    assert metadata["componentId"] == comp
    assert metadata["source"] == "e2e" and metadata["nested"] == {"a": [1, 2]}
    assert cols[9] == r"\N"  # no client timestamp
    server_ms = rfc3339_ms(cols[10])
    assert before - 2000 <= server_ms <= after + 2000

    assert totals(redis_data, comp) == {t: (1 if t == "CLICK" else 0) for t in EVENT_TYPES}
    minute = server_ms - server_ms % MINUTE_MS
    assert redis_data.counter(MINUTES_LIVE, f"CLICK|{comp}|*|*|{minute}") == 1


def test_counter_and_ranking_keys_expire(server, redis_data, uniq):
    """Per-minute counts, hourly rankings and daily unique users are written with a TTL
    (set by the script once a minute per key and server thread, not on every call)."""
    at = now_ms() - 3 * 3600 * 1000 - 7 * MINUTE_MS  # a minute no other test writes to
    comp, user, post_id = uniq.comp(), uniq.user(), uniq.post()
    accept(server, uniq.event("CLICK", comp, userId=user, timestamp=at, metadata={"postId": post_id}))
    accept(server, uniq.event("SEARCH", comp, userId=user, timestamp=at, metadata={"keyword": uniq.keyword()}))
    minute, hour = at - at % MINUTE_MS, at - at % (60 * MINUTE_MS)
    day = datetime.fromtimestamp(at / 1000, timezone.utc).strftime("%Y-%m-%d")
    for name, most in ((f"rt:CLICK:{minute}", 7200), (f"top:CLICK:{hour}", 8 * 86400),
                       (f"kw:{hour}", 8 * 86400), (f"uu:CLICK:{day}", 40 * 86400)):
        key = redis_data.user_key(user, name)  # the keys of the user's events are in their shard
        assert 0 < redis_data.client.ttl(key) <= most, key


def test_alias_path_and_case_insensitive_type(server, redis_data, uniq):
    comp = uniq.comp()
    mark = stream_mark(redis_data)
    event_id = accept(server, uniq.event("page_view", comp), path="/api/users/events")
    cols = one_row(redis_data, mark, uniq.token)
    assert cols[0] == event_id and cols[1] == "PAGE_VIEW"
    assert totals(redis_data, comp)["PAGE_VIEW"] == 1


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_is_accepted(server, redis_data, uniq, event_type):
    comp = uniq.comp()
    body = uniq.event(event_type, comp, userId=uniq.user(),
                      metadata={"postId": uniq.post(), "keyword": uniq.keyword()})
    uuid_v7_ms(accept(server, body))
    assert totals(redis_data, comp)[event_type] == 1


def test_client_timestamp_sets_the_minute_bucket(server, redis_data, uniq):
    comp = uniq.comp()
    # Ten minutes ago is plausible: the event counts in that minute.
    client_ms = now_ms() - 10 * MINUTE_MS
    mark = stream_mark(redis_data)
    accept(server, uniq.event("CLICK", comp, timestamp=client_ms))
    cols = one_row(redis_data, mark, uniq.token)
    assert rfc3339_ms(cols[9]) == client_ms
    minute = client_ms - client_ms % MINUTE_MS
    assert redis_data.counter(MINUTES_LIVE, f"CLICK|{comp}|*|*|{minute}") == 1

    # Years ago is implausible: kept as the client time, counted at the server's time.
    comp2 = uniq.comp()
    mark = stream_mark(redis_data)
    accept(server, uniq.event("CLICK", comp2, timestamp="2001-02-03T04:05:06.789Z"))
    cols = one_row(redis_data, mark, uniq.token)
    assert cols[9].startswith("2001-02-03T04:05:06.789")
    server_ms = rfc3339_ms(cols[10])
    minute = server_ms - server_ms % MINUTE_MS
    assert redis_data.counter(MINUTES_LIVE, f"CLICK|{comp2}|*|*|{minute}") == 1


def test_batch_of_100(server, redis_data, uniq):
    comp = uniq.comp()
    mark = stream_mark(redis_data)
    events = [uniq.event("CLICK", comp, userId=uniq.user()) for _ in range(100)]
    response = post(server, "/api/events/batch", {"events": events})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 100 and body["rejected"] == [], body
    ids = body["eventIds"]
    assert len(ids) == 100 and len(set(ids)) == 100
    for event_id in ids:
        uuid_v7_ms(event_id)
    rows = rows_with(stream_rows_since(redis_data, mark), uniq.token)
    assert sorted(columns(row)[0] for row in rows) == sorted(ids)
    assert totals(redis_data, comp)["CLICK"] == 100


def test_batch_with_invalid_events(server, redis_data, uniq):
    comp = uniq.comp()
    mark = stream_mark(redis_data)
    events = [uniq.event("CLICK", comp) for _ in range(5)]
    events[1]["metadata"]["componentId"] = 0
    events[3]["eventType"] = "BOGUS"
    response = post(server, "/api/events/batch", {"events": events})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 3, body
    assert len(body["eventIds"]) == 3
    rejected = body["rejected"]
    assert [item["index"] for item in rejected] == [1, 3], rejected
    assert rejected[0]["error"]["code"] == "INVALID_VALUE"
    assert rejected[0]["error"]["field"] == "metadata.componentId"
    assert rejected[1]["error"]["code"] == "INVALID_VALUE"
    assert rejected[1]["error"]["field"] == "eventType"
    for item in rejected:
        assert item["error"]["message"]
    rows = rows_with(stream_rows_since(redis_data, mark), uniq.token)
    assert sorted(columns(row)[0] for row in rows) == sorted(body["eventIds"])
    assert totals(redis_data, comp)["CLICK"] == 3


def test_batch_with_only_invalid_events_is_400(server, redis_data, uniq):
    comp = uniq.comp()
    mark = stream_mark(redis_data)
    events = [uniq.event("LIKE", comp), uniq.event("SEARCH", comp)]  # no userId / keyword
    response = post(server, "/api/events/batch", {"events": events})
    assert_error(response, 400)
    body = response.json()
    assert body.get("accepted") == 0
    assert [item["index"] for item in body["rejected"]] == [0, 1]
    assert body["rejected"][0]["error"]["field"] == "userId"
    assert body["rejected"][1]["error"]["field"] == "metadata.keyword"
    assert rows_with(stream_rows_since(redis_data, mark), uniq.token) == []
    assert set(totals(redis_data, comp).values()) == {0}


def test_duplicate_client_event_id_counts_once(server, redis_data, uniq):
    comp = uniq.comp()
    client_id = str(uuid.uuid4())
    mark = stream_mark(redis_data)
    answers = []
    for spelling in (client_id, client_id, client_id.upper()):
        response = post(server, "/api/events", uniq.event("CLICK", comp, eventId=spelling))
        assert response.status_code == 202, response.text
        answers.append(response.json())
    event_id = answers[0]["eventId"]
    uuid_v7_ms(event_id)
    assert [a["eventId"] for a in answers] == [event_id] * 3, answers
    assert not answers[0].get("duplicate")
    assert answers[1].get("duplicate") is True and answers[2].get("duplicate") is True
    assert totals(redis_data, comp)["CLICK"] == 1
    assert one_row(redis_data, mark, uniq.token)[0] == event_id

    # Within one batch, and against the earlier single event.
    other_id = str(uuid.uuid4())
    response = post(server, "/api/events/batch", {"events": [
        uniq.event("CLICK", comp, eventId=other_id),
        uniq.event("CLICK", comp, eventId=other_id),
        uniq.event("CLICK", comp, eventId=client_id)]})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 3 and body["duplicates"] == 2, body
    ids = body["eventIds"]
    assert ids[0] == ids[1] and ids[2] == event_id, body
    assert totals(redis_data, comp)["CLICK"] == 2
    assert len(rows_with(stream_rows_since(redis_data, mark), uniq.token)) == 2


def test_search_updates_recent_keywords(server, redis_data, uniq):
    user, comp = uniq.user(), uniq.comp()
    key = redis_data.user_key(user, f"recent:{user}")  # where every server finds it
    keywords = [uniq.keyword(i) for i in range(12)]
    mark = stream_mark(redis_data)
    for keyword in keywords + [keywords[4]]:
        accept(server, uniq.event("SEARCH", comp, userId=user, metadata={"keyword": keyword}))

    expected = [keywords[4]] + [k for k in reversed(keywords[2:]) if k != keywords[4]]
    assert len(expected) == 10
    assert redis_data.client.lrange(key, 0, -1) == expected
    ttl = redis_data.client.ttl(key)
    assert RECENT_TTL_S - 10 <= ttl <= RECENT_TTL_S, ttl

    assert totals(redis_data, comp)["SEARCH"] == 13
    assert totals(redis_data, comp, kw=keywords[4])["SEARCH"] == 2
    # Popular keywords of the hour.
    rows = rows_with(stream_rows_since(redis_data, mark), uniq.token)
    assert len(rows) == 13
    server_ms = rfc3339_ms(columns(rows[-1])[10])
    hour = server_ms - server_ms % HOUR_MS
    assert redis_data.zscore(f"kw:{hour}", keywords[4]) == 2


def test_recent_keywords_expire(start_server, redis_data, uniq):
    server = start_server("--recent-keywords-ttl-s=1")
    user = uniq.user()
    key = redis_data.user_key(user, f"recent:{user}")
    r = redis_data.client
    accept(server, uniq.event("SEARCH", userId=user, metadata={"keyword": uniq.keyword()}))
    assert r.lrange(key, 0, -1) == [uniq.keyword()]
    assert 0 <= r.pttl(key) <= 1000
    deadline = time.monotonic() + 5
    while r.exists(key) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not r.exists(key)


def test_like_then_unlike_twice(server, redis_data, uniq):
    user, comp, post_id = uniq.user(), uniq.comp(), uniq.post()

    def like_total():
        return totals(redis_data, comp, post=post_id)["LIKE"]

    def send(event_type):
        accept(server, uniq.event(event_type, comp, userId=user, metadata={"postId": post_id}))

    mark = stream_mark(redis_data)
    send("LIKE")
    assert like_total() == 1
    send("UNLIKE")
    assert like_total() == 0
    send("UNLIKE")
    assert like_total() == 0
    assert totals(redis_data, comp)["LIKE"] == 0
    assert totals(redis_data, comp, post=post_id)["UNLIKE"] == 2
    assert redis_data.llen(f"liked:{comp}:{post_id}") == 0  # no standing like left
    # The LIKE minute counters net out to zero as well.
    rows = rows_with(stream_rows_since(redis_data, mark), uniq.token)
    assert len(rows) == 3
    minutes = {rfc3339_ms(columns(row)[10]) // MINUTE_MS * MINUTE_MS for row in rows}
    fields = [f"LIKE|{comp}|{post_id}|*|{minute}" for minute in minutes]
    assert sum(redis_data.counters(MINUTES_LIVE, fields)) == 0
    assert redis_data.counter(TOTALS_LIVE, f"LIKE|{comp}|{post_id}|*") == 0


def test_batch_of_1000_with_default_limits(server, redis_data, uniq):
    """The largest batch the contract allows, sent plainly (with Content-Length)."""
    comp = uniq.comp()
    events = [uniq.event("CLICK", comp, userId=uniq.user()) for _ in range(1000)]
    response = post(server, "/api/events/batch", {"events": events})
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1000
    assert totals(redis_data, comp)["CLICK"] == 1000


def test_text_is_stored_verbatim(server, redis_data, uniq):
    """Multi-byte UTF-8 and backslashes survive into the COPY row (escaped for COPY)."""
    comp = uniq.comp()
    session = uniq.session + "-\u00fc\u00df-\u6f22-\U0001f600-back\\slash"
    keyword = "caf\u00e9 \\d+ \"quoted\""
    mark = stream_mark(redis_data)
    accept(server, {"eventType": "SEARCH", "userId": uniq.user(), "sessionId": session,
                    "metadata": {"componentId": comp, "keyword": keyword,
                                 "note": "tab\there, newline\nthere"}})
    cols = one_row(redis_data, mark, uniq.token)

    def copy_unescape(text):
        out, i = [], 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(text[i + 1],
                                                                          text[i + 1]))
                i += 2
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    assert copy_unescape(cols[3]) == session
    assert copy_unescape(cols[7]) == keyword
    metadata = json.loads(copy_unescape(cols[8]))
    assert metadata["keyword"] == keyword and metadata["note"] == "tab\there, newline\nthere"


def test_concurrent_repeats_of_one_event_id(server, redis_data, uniq):
    comp = uniq.comp()
    body = uniq.event("CLICK", comp, eventId=str(uuid.uuid4()))
    answers, lock = [], threading.Lock()

    def send():
        response = post(server, "/api/events", body)
        with lock:
            answers.append((response.status_code, response.json().get("eventId")))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 10 and {status for status, _ in answers} == {202}, answers
    assert len({event_id for _, event_id in answers}) == 1, answers
    assert totals(redis_data, comp)["CLICK"] == 1
