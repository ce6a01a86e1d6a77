"""What browsers and apps send besides plain JSON: CORS preflights and origins, beacons
(text/plain), compressed bodies (gzip, deflate) and clock skew (sentAt)."""

import gzip
import json
import time
import zlib
from datetime import datetime

import pytest

from support import (HTTP_TIMEOUT, STREAM, api, assert_error, redis_is_shared, rows_with, stream_mark,
                     stream_rows_since, totals)

BODY_LIMIT = 8192
BATCH_LIMIT = 65536
SHOP = "https://shop.example"
DASHBOARD = "https://dash.example:8443"


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory(f"--event-body-limit={BODY_LIMIT}", f"--batch-body-limit={BATCH_LIMIT}",
                                 f"--cors-origins={DASHBOARD}", "--cors-max-age-s=900")


def send(server, path, data, headers=None, method="POST"):
    return api.request(method, server.url(path), data=data, headers=headers or {}, timeout=HTTP_TIMEOUT)


def preflight(server, path, origin, method, request_headers=None):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return api.options(server.url(path), headers=headers, timeout=HTTP_TIMEOUT)


def as_json(body):
    return json.dumps(body).encode()


def clicks(uniq, comp, n, **top):
    return [uniq.event("CLICK", comp, **top) for _ in range(n)]


def nothing_stored(r, uniq, comp, mark, length):
    assert rows_with(stream_rows_since(r, mark), uniq.token) == []
    assert totals(r, comp)["CLICK"] == 0
    if not redis_is_shared():
        assert r.xlen(STREAM) == length


# ---------------------------------------------------------------------------------------
# CORS
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/events", "/api/users/events", "/api/events/batch"])
def test_ingestion_preflight_from_any_origin(server, path):
    answer = preflight(server, path, SHOP, "POST", "content-type,content-encoding,x-api-key")
    assert answer.status_code == 204, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in answer.headers["Vary"]
    assert answer.headers["Access-Control-Allow-Methods"] == "POST"
    allowed = answer.headers["Access-Control-Allow-Headers"].lower()
    for name in ("content-type", "content-encoding", "x-api-key", "authorization"):
        assert name in allowed
    assert answer.headers["Access-Control-Max-Age"] == "900"
    assert answer.content == b""


def test_statistics_preflight_only_from_listed_origins(server):
    allowed = preflight(server, "/api/statistics?eventType=CLICK&componentId=1", DASHBOARD, "GET", "authorization")
    assert allowed.status_code == 204, allowed.text
    assert allowed.headers["Access-Control-Allow-Origin"] == DASHBOARD
    refused = preflight(server, "/api/statistics", SHOP, "GET")
    assert_error(refused, 403, "ORIGIN_NOT_ALLOWED")
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert_error(preflight(server, "/api/statistics", "https://dash.example", "GET"), 403, "ORIGIN_NOT_ALLOWED")


def test_preflight_for_a_method_or_header_not_allowed(server):
    assert_error(preflight(server, "/api/events", SHOP, "DELETE"), 403, "CORS_METHOD_NOT_ALLOWED")
    assert_error(preflight(server, "/api/events", SHOP, "POST", "content-type, x-evil"), 403,
                 "CORS_HEADER_NOT_ALLOWED")
    assert_error(preflight(server, "/api/nowhere", SHOP, "POST"), 404, "NOT_FOUND")


def test_open_routes_answer_any_origin(server):
    answer = api.get(server.url("/health/live"), headers={"Origin": SHOP}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_cross_origin_ingestion_answers_carry_cors_headers(server, redis_client, uniq):
    comp = uniq.comp()
    answer = api.post(server.url("/api/events"), json=uniq.event("CLICK", comp), headers={"Origin": SHOP},
                      timeout=HTTP_TIMEOUT)
    assert answer.status_code == 202, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    exposed = answer.headers["Access-Control-Expose-Headers"]
    for name in ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"):
        assert name in exposed
    assert totals(redis_client, comp)["CLICK"] == 1


def test_errors_to_allowed_origins_carry_cors_headers(server):
    invalid = api.post(server.url("/api/events"), json={"eventType": "NOPE"}, headers={"Origin": SHOP},
                       timeout=HTTP_TIMEOUT)
    assert_error(invalid, 400)
    assert invalid.headers["Access-Control-Allow-Origin"] == SHOP
    # Answered by the server before the router sees the body.
    too_large = send(server, "/api/events", b"{" + b" " * (BODY_LIMIT + 10) + b"}",
                     {"Content-Type": "application/json", "Origin": SHOP})
    assert_error(too_large, 413, "BODY_TOO_LARGE")
    assert too_large.headers["Access-Control-Allow-Origin"] == SHOP


def test_read_route_refuses_other_origins(server):
    path = "/api/statistics?eventType=CLICK&componentId=1"
    refused = api.get(server.url(path), headers={"Origin": SHOP}, timeout=HTTP_TIMEOUT)
    assert_error(refused, 403, "ORIGIN_NOT_ALLOWED")
    allowed = api.get(server.url(path), headers={"Origin": DASHBOARD}, timeout=HTTP_TIMEOUT)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["Access-Control-Allow-Origin"] == DASHBOARD
    plain = api.get(server.url(path), timeout=HTTP_TIMEOUT)
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers


# ---------------------------------------------------------------------------------------
# Beacons
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", "text/plain", "TEXT/PLAIN; charset=utf-8"])
def test_beacon_text_plain_is_taken(server, redis_client, uniq, content_type):
    comp = uniq.comp()
    single = send(server, "/api/events", as_json(uniq.event("CLICK", comp)),
                  {"Content-Type": content_type, "Origin": SHOP})
    assert single.status_code == 202, single.text
    batch = send(server, "/api/events/batch", as_json({"events": clicks(uniq, comp, 3)}),
                 {"Content-Type": content_type})
    assert batch.status_code == 202, batch.text
    assert batch.json()["accepted"] == 3
    assert totals(redis_client, comp)["CLICK"] == 4


@pytest.mark.parametrize("content_type", ["text/html", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/octet-stream", "text/plainx"])
def test_other_content_types_are_415(server, redis_client, uniq, content_type):
    comp = uniq.comp()
    mark, length = stream_mark(redis_client), redis_client.xlen(STREAM)
    for path, body in (("/api/events", uniq.event("CLICK", comp)), ("/api/events/batch", {"events": clicks(uniq, comp, 2)})):
        assert_error(send(server, path, as_json(body), {"Content-Type": content_type}), 415, "UNSUPPORTED_MEDIA_TYPE")
    nothing_stored(redis_client, uniq, comp, mark, length)


def test_posts_api_still_wants_json(server):
    answer = send(server, "/api/posts/like", as_json({"userId": 1, "postId": 1}), {"Content-Type": "text/plain"})
    assert_error(answer, 415, "UNSUPPORTED_MEDIA_TYPE")


# ---------------------------------------------------------------------------------------
# Compressed bodies
# ---------------------------------------------------------------------------------------

def raw_deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


CODINGS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,  # zlib-wrapped, as RFC 9110 says
    "deflate-raw": raw_deflate,  # what some clients send as deflate
}


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_compressed_batches_are_counted_exactly(server, redis_client, uniq, coding):
    comp = uniq.comp()
    events = clicks(uniq, comp, 200)
    plain = as_json({"events": events})
    body = CODINGS[coding](plain)
    assert len(body) < len(plain) / 5
    header = "deflate" if coding == "deflate-raw" else coding
    answer = send(server, "/api/events/batch", body,
                  {"Content-Type": "application/json", "Content-Encoding": header, "Origin": SHOP})
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 200
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    assert totals(redis_client, comp)["CLICK"] == 200


def test_compressed_single_event_and_beacon(server, redis_client, uniq):
    comp = uniq.comp()
    for content_type in ("application/json", "text/plain;charset=UTF-8"):
        answer = send(server, "/api/events", gzip.compress(as_json(uniq.event("CLICK", comp))),
                      {"Content-Type": content_type, "Content-Encoding": "gzip"})
        assert answer.status_code == 202, answer.text
    answer = send(server, "/api/events", as_json(uniq.event("CLICK", comp)),
                  {"Content-Type": "application/json", "Content-Encoding": "identity"})
    assert answer.status_code == 202, answer.text
    assert totals(redis_client, comp)["CLICK"] == 3


def test_concatenated_gzip_members_are_one_body(server, redis_client, uniq):
    comp = uniq.comp()
    text = as_json({"events": clicks(uniq, comp, 5)})
    body = gzip.compress(text[:50]) + gzip.compress(text[50:])
    answer = send(server, "/api/events/batch", body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert answer.status_code == 202, answer.text
    assert totals(redis_client, comp)["CLICK"] == 5


def test_a_body_that_inflates_past_the_limit_is_413(server, redis_client, uniq):
    comp = uniq.comp()
    mark, length = stream_mark(redis_client), redis_client.xlen(STREAM)
    # 40 MB of spaces inside a valid batch, sent as about 40 KB.
    events = json.dumps({"events": clicks(uniq, comp, 1)})
    bomb = gzip.compress(events[:-1].encode() + b" " * 40_000_000 + b"}", 9)
    assert len(bomb) < BATCH_LIMIT
    started = time.monotonic()
    answer = send(server, "/api/events/batch", bomb,
                  {"Content-Type": "application/json", "Content-Encoding": "gzip", "Origin": SHOP})
    assert_error(answer, 413, "BODY_TOO_LARGE")
    assert str(BATCH_LIMIT) in answer.json()["error"]["message"]
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    # Just past the limit for a single event too: 1 byte over is refused, exactly the limit is not.
    event = as_json(uniq.event("CLICK", comp))
    over = event[:-1] + b" " * (BODY_LIMIT - len(event) + 1) + b"}"
    assert len(over) == BODY_LIMIT + 1
    assert_error(send(server, "/api/events", gzip.compress(over),
                      {"Content-Type": "application/json", "Content-Encoding": "gzip"}), 413, "BODY_TOO_LARGE")
    nothing_stored(redis_client, uniq, comp, mark, length)
    exact = over[:-2] + b"}"
    assert len(exact) == BODY_LIMIT
    assert send(server, "/api/events", gzip.compress(exact),
                {"Content-Type": "application/json", "Content-Encoding": "gzip"}).status_code == 202
    assert time.monotonic() - started < HTTP_TIMEOUT


@pytest.mark.parametrize("name, body", [
    ("garbage", b"this is not gzip at all"),
    ("gzip magic then garbage", b"\x1f\x8b\x08\x00garbage-garbage-garbage"),
    ("truncated", gzip.compress(b'{"events": [{"eventType": "CLICK"}]}' * 20)[:-10]),
    ("trailing bytes", gzip.compress(b'{"events": []}') + b"junk"),
])
def test_a_corrupt_stream_is_400(server, redis_client, uniq, name, body):
    comp = uniq.comp()
    mark, length = stream_mark(redis_client), redis_client.xlen(STREAM)
    answer = send(server, "/api/events/batch", body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert_error(answer, 400, "MALFORMED_BODY")
    answer = send(server, "/api/events", body, {"Content-Type": "application/json", "Content-Encoding": "deflate"})
    assert_error(answer, 400, "MALFORMED_BODY")
    nothing_stored(redis_client, uniq, comp, mark, length)


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, deflate", "gzip;q=1"])
def test_an_unknown_encoding_is_415(server, uniq, coding):
    answer = send(server, "/api/events", gzip.compress(as_json(uniq.event("CLICK"))),
                  {"Content-Type": "application/json", "Content-Encoding": coding})
    assert_error(answer, 415, "UNSUPPORTED_ENCODING")


def test_an_encoding_on_a_route_that_is_not_ingestion_is_415(server):
    answer = send(server, "/api/statistics?eventType=CLICK&componentId=1", gzip.compress(b"{}"),
                  {"Content-Type": "application/json", "Content-Encoding": "gzip", "Origin": DASHBOARD},
                  method="GET")
    assert_error(answer, 415, "UNSUPPORTED_ENCODING")
    assert answer.headers["Access-Control-Allow-Origin"] == DASHBOARD


# ---------------------------------------------------------------------------------------
# Clock skew
# ---------------------------------------------------------------------------------------

def rfc3339(ms):
    return datetime.utcfromtimestamp(ms / 1000).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(text):
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def stored_times(redis_client, mark, session):
    """(client_time ms or None, server_time ms) of the stream rows of `session`, in order."""
    times = []
    for row in rows_with(stream_rows_since(redis_client, mark), session):
        fields = row.split("\t")
        client, server_time = fields[9], fields[10]
        times.append((None if client == "\\N" else parse_ms(client), parse_ms(server_time)))
    return times


def test_sent_at_moves_a_single_events_timestamp_onto_the_server_clock(server, redis_client, uniq):
    mark = stream_mark(redis_client)
    phone_now = int(time.time() * 1000) - 3 * 3_600_000  # the phone's clock is 3 h behind
    body = uniq.event("CLICK", sentAt=rfc3339(phone_now), timestamp=phone_now - 5000)
    assert api.post(server.url("/api/events"), json=body, timeout=HTTP_TIMEOUT).status_code == 202
    [(client, received)] = stored_times(redis_client, mark, uniq.session)
    assert client == received - 5000, "5 s before the server received it, on the server's clock"


def test_batch_sent_at_applies_to_each_event(server, redis_client, uniq):
    mark = stream_mark(redis_client)
    phone_now = int(time.time() * 1000) + 2 * 86_400_000  # two days ahead
    events = [uniq.event("CLICK", timestamp=phone_now - 1000), uniq.event("CLICK", timestamp=rfc3339(phone_now - 2000)),
              uniq.event("CLICK")]
    answer = api.post(server.url("/api/events/batch"), json={"sentAt": phone_now, "events": events},
                      timeout=HTTP_TIMEOUT)
    assert answer.status_code == 202 and answer.json()["accepted"] == 3, answer.text
    times = stored_times(redis_client, mark, uniq.session)
    assert len(times) == 3
    received = times[0][1]
    assert all(t[1] == received for t in times)
    assert sorted(t[0] for t in times[:2]) == [received - 2000, received - 1000]
    assert times[2][0] is None, "an event without its own timestamp keeps none (its receive time counts)"


def test_an_invalid_sent_at_is_a_field_error(server, redis_client, uniq):
    comp = uniq.comp()
    mark, length = stream_mark(redis_client), redis_client.xlen(STREAM)
    for sent_at in ("yesterday", "2026-11-25", True, 1.5, 253402300800000):
        single = api.post(server.url("/api/events"), json=uniq.event("CLICK", comp, sentAt=sent_at),
                          timeout=HTTP_TIMEOUT)
        assert_error(single, 400, field="sentAt")
        batch = api.post(server.url("/api/events/batch"), json={"sentAt": sent_at, "events": clicks(uniq, comp, 2)},
                         timeout=HTTP_TIMEOUT)
        assert_error(batch, 400, field="sentAt")
    nothing_stored(redis_client, uniq, comp, mark, length)
