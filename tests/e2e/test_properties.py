"""Properties of the HTTP interface over thousands of generated requests (Hypothesis):
random query strings on the statistics, search and posts endpoints, random event and
batch bodies, random methods, paths and headers. Whatever arrives:

* the answer is never a 5xx, and every error is the contract's JSON error;
* the server stays up (it still answers /health/live and exits 0 on SIGTERM at the end);
* a request answered 4xx stores nothing (the stream and the backlog counter unchanged), and HEAD
  never stores anything;
* an accepted event's row is one PostgreSQL takes (no non-finite number in its metadata).

One server for the module (no flusher, so the stream and backlog only grow by what a
request stores). If a request kills it, that request fails and the next one gets a new
server, so Hypothesis still shrinks to the request that did it. Requests go out through
http.client, which sends the target exactly as generated (percent escapes included).
"""

import http.client
import json
import math
import re
import socket
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from support import KeyedHTTPConnection, EVENT_TYPES, HTTP_TIMEOUT, LOOPBACK, SHARD, STREAM, assert_error, stream_mark, stream_rows_since

TOKEN = uuid.uuid4().hex[:16]
SESSION = f"e2e-prop-{TOKEN}"
BACKLOG = SHARD + "backlog"


def bounded(examples):
    """A couple of minutes for the whole module on a loaded 2-core machine."""
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------
# The server, and one request through http.client
# ---------------------------------------------------------------------------------------

class Answer:
    """The parts of a response assert_error reads (it was written for requests')."""

    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers
        self.content = body
        self.text = body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class LiveServer:
    def __init__(self, factory):
        self.factory = factory
        self.server = factory()

    def request(self, method, target, body=b"", headers=()):
        if not self.server.alive():  # killed by an earlier example: that one has failed
            self.server = self.factory()
        connection = KeyedHTTPConnection(LOOPBACK, self.server.port, timeout=HTTP_TIMEOUT)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        except (OSError, http.client.HTTPException) as error:
            died = self.server.wait(2) is not None
            raise AssertionError(f"{method} {target} got no answer ({error!r}); "
                                 f"{'the server died: exit ' + str(self.server.proc.returncode) if died else ''}"
                                 f"\n{self.server.log_tail(20) if died else ''}") from None
        finally:
            connection.close()


@pytest.fixture(scope="module")
def live(module_server_factory):
    return LiveServer(module_server_factory)


class Stored:
    """What Redis holds for ingestion: stream entries and the backlog of stored events."""

    def __init__(self, redis_client):
        self.redis = redis_client
        self.before = self.now()
        self.mark = stream_mark(redis_client)

    def now(self):
        return self.redis.xlen(STREAM), int(self.redis.get(BACKLOG) or 0)

    def unchanged(self, what):
        assert self.now() == self.before, f"{what} stored something: (stream, backlog) {self.before} -> {self.now()}"

    def rows(self):
        return stream_rows_since(self.redis, self.mark)


def assert_answer(answer, allowed, what):
    assert answer.status_code < 500, f"{what} -> {answer.status_code} {answer.text[:300]}"
    assert answer.status_code in allowed, f"{what} -> {answer.status_code} {answer.text[:300]}"
    if answer.status_code >= 400 and answer.content:
        assert_error(answer, answer.status_code)


# ---------------------------------------------------------------------------------------
# Query strings
# ---------------------------------------------------------------------------------------

def escaped_bytes(data):
    return "".join(f"%{byte:02X}" for byte in data)


TIMES = st.one_of(
    st.sampled_from(["1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z", "9999-12-31T23:59:59Z",
                     "0000-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-04T10:00:00%2B02:00",
                     "2026-12-04T10:00:00+02:00", "2026-12-04", "now", "1733300000000"]),
    st.datetimes().map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S") + "Z"),
    st.datetimes().map(lambda t: t.isoformat(timespec="milliseconds") + "Z"),
)
NUMBERS = st.one_of(
    st.sampled_from(["0", "-1", "1", "01", "+1", "1.0", "1e3", " 1", "9223372036854775807",
                     "9223372036854775808", "-9223372036854775808", "99999999999999999999"]),
    st.integers(min_value=-2**64, max_value=2**64).map(str),
)
WORDS = st.sampled_from(["", "CLICK", "click", "SEARCH", "LIKE", "UNLIKE", "PAGE_VIEW", "SHARE", "minute",
                         "hour", "day", "week", "1h", "24h", "7d", "0h", "*", "|", ":", "%2A", "%7C", "cats",
                         "%23cats", "%20", "%E3%80%80", "%C3", "%FF", "%00", "x2%00zzz", "%25", "%", "%G1",
                         "a" * 300, "true", "null"])
VALUES = st.one_of(WORDS, NUMBERS, TIMES,
                   st.text(max_size=20).map(lambda s: quote(s, safe="")),
                   st.binary(max_size=8).map(escaped_bytes))
STATISTICS_NAMES = ["eventType", "componentId", "postId", "keyword", "from", "to", "interval", "date",
                    "window", "limit"]


def query_strings(names):
    piece = st.one_of(
        # Values percent-encoded as a client sends them ('%' kept, so "%FF" stays a byte):
        # raw spaces and control characters are not HTTP, and http.client refuses them.
        st.tuples(st.sampled_from(names), VALUES).map(lambda p: f"{p[0]}={quote(p[1], safe='%')}"),
        st.sampled_from(names),                                    # a name without '='
        st.sampled_from(["", "=", "=1", "unknown=1", "%FF=1", "eventType%00=CLICK"]),
    )
    return st.lists(piece, max_size=8).map("&".join)


STATISTICS_PATHS = ["/api/statistics", "/api/statistics/series", "/api/statistics/top-posts",
                    "/api/statistics/keywords", "/api/statistics/summary", "/api/statistics/unique-users"]


@bounded(800)
@given(path=st.sampled_from(STATISTICS_PATHS), query=query_strings(STATISTICS_NAMES),
       method=st.sampled_from(["GET", "HEAD"]))
@example(path="/api/statistics", query="eventType=CLICK&componentId=1&to=1970-01-01T00:00:00Z", method="GET")
@example(path="/api/statistics/series", query="eventType=CLICK&componentId=1&from=2100-01-01T00:00:00Z",
         method="GET")
@example(path="/api/statistics", query="eventType=SEARCH&componentId=1&keyword=%FF", method="GET")
@example(path="/api/statistics/series", query="eventType=SEARCH&keyword=x2%00zzz", method="GET")
@example(path="/api/statistics/summary", query="", method="GET")
def test_statistics_queries_answer_200_or_400(live, redis_client, path, query, method):
    """Every statistics endpoint, whatever the parameters, answers 200 or 400 and stores
    nothing."""
    stored = Stored(redis_client)
    target = f"{path}?{query}"
    answer = live.request(method, target)
    assert_answer(answer, {200, 400}, f"{method} {target}")
    stored.unchanged(f"{method} {target}")


@bounded(300)
@given(path=st.sampled_from(STATISTICS_PATHS), query=query_strings(STATISTICS_NAMES),
       empties=st.sampled_from(["&", "&&", "&&&"]), where=st.sampled_from(["start", "end", "middle"]))
@example(path="/api/statistics/summary", query="", empties="&", where="end")
@example(path="/api/statistics", query="eventType=CLICK&componentId=7", empties="&&", where="middle")
def test_empty_query_parameters_are_ignored(live, path, query, empties, where):
    """`?&`, `a=1&&b=2` and a trailing `&` are answered as if the empty pieces were not there."""
    pieces = query.split("&") if query else []
    at = {"start": 0, "end": len(pieces), "middle": len(pieces) // 2}[where]
    padded = "&".join(pieces[:at] + [empties[1:]] + pieces[at:]) if pieces else empties
    plain, noisy = live.request("GET", f"{path}?{query}"), live.request("GET", f"{path}?{padded}")
    assert plain.status_code < 500 and noisy.status_code < 500, (plain.text, noisy.text)
    assert noisy.status_code == plain.status_code, (f"{path}?{query}", plain.text[:200], f"?{padded}",
                                                    noisy.text[:200])
    if plain.status_code >= 400:
        assert noisy.json()["error"]["code"] == plain.json()["error"]["code"], (plain.text, noisy.text)


SEARCH_NAMES = ["keyword", "userId", "limit"]


@bounded(300)
@given(query=query_strings(SEARCH_NAMES), method=st.sampled_from(["GET", "HEAD"]))
@example(query="keyword=zz&userId=5", method="HEAD")
@example(query="userId=1&keyword=%C3", method="GET")
@example(query="userId=1&keyword=x2%00zzz", method="GET")
def test_search_queries(live, redis_client, query, method):
    """A search answers 200 or 400 (HEAD: 405, a search records a SEARCH event); a 400
    stores nothing, and neither does any HEAD (no SEARCH event, no recent keyword)."""
    stored = Stored(redis_client)
    recent_before = {key: redis_client.lrange(key, 0, -1) for key in redis_client.scan_iter(SHARD + "recent:*")}
    target = f"/api/search?{query}"
    answer = live.request(method, target)
    assert_answer(answer, {400, 405} if method == "HEAD" else {200, 400}, f"{method} {target}")
    if method == "HEAD" or answer.status_code != 200:
        stored.unchanged(f"{method} {target}")
        recent_after = {key: redis_client.lrange(key, 0, -1) for key in redis_client.scan_iter(SHARD + "recent:*")}
        assert recent_after == recent_before, f"{method} {target} changed recent keywords"


@bounded(300)
@given(path=st.one_of(
    st.tuples(st.sampled_from(["/api/posts/", "/api/search/recent/"]),
              st.one_of(NUMBERS, WORDS).map(lambda s: quote(s, safe="%"))).map("".join),
    st.tuples(st.sampled_from(["/api/posts/", "/api/search/recent/", "/api/statistics/", "/health/", "/"]),
              st.text(max_size=12).map(lambda s: quote(s, safe="/"))).map("".join)),
    query=query_strings(["limit", "userId", "x"]))
def test_paths_with_ids_and_junk(live, redis_client, path, query):
    stored = Stored(redis_client)
    target = f"{path}?{query}" if query else path
    answer = live.request("GET", target)
    assert_answer(answer, {200, 400, 404, 405}, f"GET {target}")
    stored.unchanged(f"GET {target}")


# ---------------------------------------------------------------------------------------
# Event bodies
# ---------------------------------------------------------------------------------------

COPY_ESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def copy_field(row, index):
    """Column `index` of a COPY text row, unescaped."""
    return re.sub(r"\\[\\tnr]", lambda m: COPY_ESCAPES[m.group(0)], row.split("\t")[index])


def reject_constant(name):
    raise ValueError(f"{name} in stored metadata")


def assert_postgres_takes(row):
    """PostgreSQL's jsonb takes no NaN nor Infinity, and no number past what a double holds
    is kept exactly by clients reading it back: every number in the row's metadata is finite."""
    metadata = copy_field(row, 8)

    def finite(text):
        value = float(text)
        assert math.isfinite(value), f"non-finite number {text} in stored metadata {metadata[:200]}"
        return value
    json.loads(metadata, parse_float=finite, parse_constant=reject_constant)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=6)
# Numbers written out as text: what json.dumps would never produce.
RAW_NUMBERS = st.sampled_from(["1e400", "-1e400", "1e999", "1E+309", "-0", "0.0", "1.0", "1e-400",
                               "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
                               "NaN", "Infinity", "-Infinity", "01", "1.", ".5", "+1"])


@st.composite
def event_bodies(draw):
    """Mostly events of the contract's shape with a few fields changed, some raw text."""
    event_type = draw(st.one_of(st.sampled_from(EVENT_TYPES), st.sampled_from(["click", "Search", "", "NOPE"]),
                                JSON_VALUES))
    metadata = {"componentId": draw(st.one_of(st.integers(min_value=1, max_value=2**63 - 1), JSON_VALUES))}
    for name in draw(st.lists(st.sampled_from(["elementId", "keyword", "postId", "x", "nested", ""]),
                              max_size=4, unique=True)):
        metadata[name] = draw(JSON_VALUES if name in ("x", "nested", "") else
                              st.one_of(st.text(max_size=12), st.integers(min_value=1, max_value=2**62), JSON_VALUES))
    body = {"eventType": event_type, "sessionId": draw(st.one_of(st.just(SESSION), st.text(max_size=10), JSON_VALUES)),
            "metadata": metadata}
    for name in draw(st.lists(st.sampled_from(["userId", "eventId", "timestamp", "extra"]), max_size=3, unique=True)):
        body[name] = draw({"userId": st.one_of(st.integers(min_value=1, max_value=2**63 - 1), JSON_VALUES),
                           "eventId": st.one_of(st.uuids().map(str), JSON_VALUES),
                           "timestamp": st.one_of(TIMES, st.integers(min_value=0, max_value=2**45), JSON_VALUES),
                           "extra": JSON_VALUES}[name])
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(min_value=0, max_value=3)) == 0:  # a number json.dumps cannot write
        text = text.replace('"componentId": ', f'"x": {draw(RAW_NUMBERS)}, "componentId": ', 1)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # damaged: a stray byte, bad UTF-8
        cut = draw(st.integers(min_value=0, max_value=len(data)))
        stray = draw(st.sampled_from([b"\x00", b"\x7f", b"}", b"\\", b"\xff", b"\xc3", b"\xed\xa0\x80"]))
        data = data[:cut] + stray + data[cut:]
    return data


CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
                 "application/x-www-form-urlencoded", "", "application/json;charset=latin-1"]


@bounded(500)
@given(body=event_bodies(), path=st.sampled_from(["/api/events", "/api/users/events"]),
       content_type=st.sampled_from(CONTENT_TYPES))
@example(body=b'{"eventType":"CLICK","sessionId":"s","metadata":{"componentId":7301,"x":1e400}}',
         path="/api/events", content_type="application/json")
@example(body=b'{"eventType":"CLICK","sessionId":"s","metadata":{"componentId":7301,"x":[1e999]}}',
         path="/api/events", content_type="application/json")
def test_event_bodies(live, redis_client, body, path, content_type):
    """202 with exactly the one row it acknowledged, which PostgreSQL takes; or a 4xx that
    stores nothing."""
    stored = Stored(redis_client)
    headers = [("Content-Type", content_type)] if content_type else []
    answer = live.request("POST", path, body, headers)
    assert_answer(answer, {202, 400, 413, 415}, f"POST {path} {body[:300]!r}")
    if answer.status_code != 202:
        stored.unchanged(f"POST {body[:300]!r}")
        return
    event_id = answer.json()["eventId"]
    rows = stored.rows()
    duplicate = answer.json().get("duplicate", False)
    assert [row.split("\t", 1)[0] for row in rows] == ([] if duplicate else [event_id]), (body, rows)
    for row in rows:
        assert_postgres_takes(row)


@bounded(100)
@given(events=st.lists(event_bodies(), min_size=0, max_size=6), wrapper=st.sampled_from(["events", "list", "junk"]))
def test_batch_bodies(live, redis_client, events, wrapper):
    """A batch stores exactly the events it says it accepted, each a row PostgreSQL takes;
    a 4xx stores nothing."""
    stored = Stored(redis_client)
    inner = b"[" + b",".join(events) + b"]"
    body = {"events": b'{"events":' + inner + b"}", "list": inner, "junk": b'{"events":' + inner}[wrapper]
    answer = live.request("POST", "/api/events/batch", body, [("Content-Type", "application/json")])
    assert_answer(answer, {202, 400, 413}, f"POST /api/events/batch {body[:300]!r}")
    if answer.status_code != 202:
        stored.unchanged(f"batch {body[:300]!r}")
        return
    result = answer.json()
    rows = stored.rows()
    new_ids = [row.split("\t", 1)[0] for row in rows]
    assert len(new_ids) == result["accepted"] - result["duplicates"], (result, len(new_ids))
    assert set(new_ids) <= set(result["eventIds"]), (result, new_ids)
    for row in rows:
        assert_postgres_takes(row)


# ---------------------------------------------------------------------------------------
# Methods, paths and headers
# ---------------------------------------------------------------------------------------

PATHS = ["/api/events", "/api/users/events", "/api/events/batch", "/api/posts", "/api/posts/1", "/api/posts/like",
         "/api/search?keyword=x&userId=1", "/api/search/recent/1", "/api/statistics/summary", "/health/live",
         "/health/ready", "/metrics", "/nope", "/api/events/", "//api/events", "/api/events?x=1",
         "/api/../api/events", "/api/%65vents", "*"]
TOKEN_CHARS = st.text(alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                      min_size=1, max_size=12)
HEADER_VALUES = st.one_of(st.sampled_from(["", "0", "close", "keep-alive", "100-continue", "chunked", "gzip",
                                           "application/json", "*/*", "x" * 2000]),
                          st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40))
HEADER_NAMES = st.one_of(st.sampled_from(["Content-Type", "Accept", "Connection", "Accept-Encoding", "Expect",
                                          "X-Forwarded-For", "User-Agent", "Cookie", "Origin", "Range"]),
                         TOKEN_CHARS)


@bounded(400)
@given(method=st.one_of(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                                         "CONNECT", "PROPFIND", "get"]), TOKEN_CHARS.map(str.upper)),
       path=st.sampled_from(PATHS),
       headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5),
       body=st.one_of(st.just(b""), st.binary(max_size=64), event_bodies()))
def test_methods_paths_and_headers(live, redis_client, method, path, headers, body):
    """No method, path or header makes a 5xx; a 4xx stores nothing and is the contract's
    JSON error; HEAD stores nothing."""
    headers = [(name, value) for name, value in headers
               if name.lower() not in ("content-length", "transfer-encoding", "host", "expect")]
    stored = Stored(redis_client)
    answer = live.request(method, path, body, headers)
    what = f"{method} {path} {headers} {body[:200]!r}"
    assert answer.status_code < 500, f"{what} -> {answer.status_code} {answer.text[:300]}"
    if answer.status_code >= 400 and method != "HEAD":
        assert_error(answer, answer.status_code)
    if answer.status_code >= 400 or method == "HEAD":  # a 2xx of a POST may store (a like, an event)
        stored.unchanged(what)


# ---------------------------------------------------------------------------------------
# Exact counts for every keyword a client can send
# ---------------------------------------------------------------------------------------

KEYWORDS = st.one_of(st.sampled_from(["*", "|", ":", "a|b", "x:y", "**", "%", "_", "\\", "'", "ß", "кот", "猫",
                                      "a" * 200]),
                     st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2000,
                                                    blacklist_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Lu")),
                             min_size=1, max_size=10).filter(lambda k: not k.startswith("#")))


@bounded(25)
@given(keywords=st.lists(KEYWORDS, min_size=1, max_size=6))
@example(keywords=["*", "*", "*", "cats"])
def test_search_counts_are_exact_for_any_keyword(live, keywords):
    """SEARCH events with any keyword: each keyword's count and the component's series
    total are exactly what was sent."""
    comp = int(uuid.uuid4().int % 10**15) + 10**12
    events = [{"eventType": "SEARCH", "sessionId": SESSION, "metadata": {"componentId": comp, "keyword": keyword}}
              for keyword in keywords]
    body = json.dumps({"events": events}).encode()
    answer = live.request("POST", "/api/events/batch", body, [("Content-Type", "application/json")])
    assert answer.status_code == 202 and answer.json()["accepted"] == len(events), answer.text
    for keyword in set(keywords):
        target = f"/api/statistics?eventType=SEARCH&componentId={comp}&keyword={quote(keyword, safe='')}"
        count = live.request("GET", target)
        assert count.status_code == 200, (target, count.text)
        assert count.json()["count"] == keywords.count(keyword), (keyword, keywords, count.text)
    series = live.request("GET", f"/api/statistics/series?eventType=SEARCH&componentId={comp}&interval=hour")
    assert series.status_code == 200, series.text
    assert series.json()["total"] == len(keywords), (keywords, series.text)


def test_server_is_still_up_and_stops_cleanly(live):
    """Runs last: after everything above, the (last) server answers and exits 0 on SIGTERM."""
    assert live.request("GET", "/health/live").status_code == 200
    server = live.server
    server.terminate()
    assert server.wait(server.grace_ms / 1000 + 5) == 0, server.log_tail(40)
    with pytest.raises(OSError):
        socket.create_connection((LOOPBACK, server.port), timeout=1).close()
