"""Every 4xx the server gives: the status, the JSON error shape, and that a rejected
request leaves Redis untouched (stream length unchanged, no stream entry carries the
test's token, no counter of its component moved)."""

import contextlib
import json

import pytest

from support import (
    api, EVENT_TYPES, HTTP_TIMEOUT, SHARD, STREAM, assert_error, raw_connect,
                     read_response, redis_is_shared, rows_with, stream_mark, stream_rows_since,
                     totals, wait_closed)

BODY_LIMIT = 4096


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory(f"--event-body-limit={BODY_LIMIT}")


@contextlib.contextmanager
def changes_nothing(r, uniq, comp):
    """Nothing reaches Redis: the stream length is unchanged (on the suite's private Redis,
    where no one else writes), no new stream entry carries the test's token, and no
    counter of `comp` moved."""
    mark = stream_mark(r)
    length = r.xlen(STREAM)
    before = totals(r, comp)
    yield
    assert rows_with(stream_rows_since(r, mark), uniq.token) == []
    assert totals(r, comp) == before == {t: 0 for t in EVENT_TYPES}
    if not redis_is_shared():
        assert r.xlen(STREAM) == length


def send(server, body, path="/api/events", content_type="application/json", method="POST",
         headers=None):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update(headers or {})
    return api.request(method, server.url(path), data=data, headers=all_headers,
                            timeout=HTTP_TIMEOUT)


def raw_request(server, head, body=b"", wait_close=True):
    """Sends bytes on a new connection; returns the answer and whether the server then
    closed the connection (within 3 s; not waited for when wait_close is false)."""
    with raw_connect(server) as sock:
        sock.sendall(head + body)
        response, _ = read_response(sock)
        closed_after = wait_closed(sock, 3) if wait_close else None
    return response, closed_after is not None


def raw_error(response, status, code=None):
    assert response.status == status, (response.status, response.body)
    assert response.header("content-type").startswith("application/json")
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "field"} and error["code"] and error["message"]
    if code:
        assert error["code"] == code, error
    return error


# ---------------------------------------------------------------------------------------
# Validation rules, one by one, through HTTP
# ---------------------------------------------------------------------------------------

def drop(*path):
    def change(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def put(value, *path):
    def change(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def both(*changes):
    def change(body):
        for c in changes:
            c(body)
    return change


VALIDATION_CASES = [
    ("eventType missing", drop("eventType"), "MISSING_FIELD", "eventType"),
    ("eventType null", put(None, "eventType"), "MISSING_FIELD", "eventType"),
    ("eventType not a string", put(3, "eventType"), "INVALID_TYPE", "eventType"),
    ("eventType unknown", put("HOVER", "eventType"), "INVALID_VALUE", "eventType"),
    ("userId a string", put("42", "userId"), "INVALID_TYPE", "userId"),
    ("userId zero", put(0, "userId"), "INVALID_VALUE", "userId"),
    ("userId negative", put(-5, "userId"), "INVALID_VALUE", "userId"),
    ("userId fractional", put(1.5, "userId"), "INVALID_VALUE", "userId"),
    ("userId past int64", put(2**63, "userId"), "INVALID_VALUE", "userId"),
    ("LIKE without userId", both(put("LIKE", "eventType"), drop("userId"),
                                 put(7, "metadata", "postId")), "MISSING_FIELD", "userId"),
    ("UNLIKE without userId", both(put("UNLIKE", "eventType"), drop("userId"),
                                   put(7, "metadata", "postId")), "MISSING_FIELD", "userId"),
    ("sessionId missing", drop("sessionId"), "MISSING_FIELD", "sessionId"),
    ("sessionId not a string", put(12, "sessionId"), "INVALID_TYPE", "sessionId"),
    ("sessionId blank", put(" \t ", "sessionId"), "INVALID_VALUE", "sessionId"),
    ("sessionId too long", put("s" * 257, "sessionId"), "INVALID_VALUE", "sessionId"),
    ("sessionId control character", put("a\u0001b", "sessionId"), "INVALID_VALUE", "sessionId"),
    ("metadata missing", drop("metadata"), "MISSING_FIELD", "metadata"),
    ("metadata not an object", put([1], "metadata"), "INVALID_TYPE", "metadata"),
    ("metadata too many fields", put({f"f{i}": i for i in range(70)} | {"componentId": 5},
                                     "metadata"), "INVALID_VALUE", "metadata"),
    ("metadata with U+0000", put("a\u0000b", "metadata", "note"), "INVALID_VALUE", "metadata"),
    ("componentId missing", drop("metadata", "componentId"), "MISSING_FIELD",
     "metadata.componentId"),
    ("componentId zero", put(0, "metadata", "componentId"), "INVALID_VALUE",
     "metadata.componentId"),
    ("componentId a string", put("1002", "metadata", "componentId"), "INVALID_TYPE",
     "metadata.componentId"),
    ("componentId fractional", put(10.5, "metadata", "componentId"), "INVALID_VALUE",
     "metadata.componentId"),
    ("elementId blank", put("", "metadata", "elementId"), "INVALID_VALUE", "metadata.elementId"),
    ("elementId not a string", put(7, "metadata", "elementId"), "INVALID_TYPE",
     "metadata.elementId"),
    ("SEARCH without keyword", put("SEARCH", "eventType"), "MISSING_FIELD", "metadata.keyword"),
    ("SEARCH with null keyword", both(put("SEARCH", "eventType"), put(None, "metadata", "keyword")),
     "MISSING_FIELD", "metadata.keyword"),
    ("SEARCH with blank keyword", both(put("SEARCH", "eventType"), put("  ", "metadata", "keyword")),
     "INVALID_VALUE", "metadata.keyword"),
    ("keyword not a string", put(5, "metadata", "keyword"), "INVALID_TYPE", "metadata.keyword"),
    ("LIKE without postId", put("LIKE", "eventType"), "MISSING_FIELD", "metadata.postId"),
    ("UNLIKE without postId", put("unlike", "eventType"), "MISSING_FIELD", "metadata.postId"),
    ("postId zero", put(0, "metadata", "postId"), "INVALID_VALUE", "metadata.postId"),
    ("postId a string", put("7", "metadata", "postId"), "INVALID_TYPE", "metadata.postId"),
    ("unknown top-level field", put(1, "colour"), "UNKNOWN_FIELD", "colour"),
    ("eventId not a UUID", put("not-a-uuid", "eventId"), "INVALID_VALUE", "eventId"),
    ("eventId not a string", put(5, "eventId"), "INVALID_TYPE", "eventId"),
    ("timestamp unparsable", put("yesterday noon", "timestamp"), "INVALID_VALUE", "timestamp"),
    ("timestamp boolean", put(True, "timestamp"), "INVALID_TYPE", "timestamp"),
    ("timestamp past year 9999", put(10**15, "timestamp"), "INVALID_VALUE", "timestamp"),
]


@pytest.mark.parametrize("change,code,field", [c[1:] for c in VALIDATION_CASES],
                         ids=[c[0] for c in VALIDATION_CASES])
def test_validation_rule(server, redis_client, uniq, change, code, field):
    comp = uniq.comp()
    body = uniq.event("CLICK", comp, userId=uniq.user())
    change(body)
    with changes_nothing(redis_client, uniq, comp):
        assert_error(send(server, body), 400, code, field)
        assert_error(send(server, body, path="/api/users/events"), 400, code, field)


@pytest.mark.parametrize("body,code,field", [
    ([], "INVALID_BODY", None),
    ("\"just a string\"", "INVALID_BODY", None),
], ids=["array", "string"])
def test_body_that_is_not_an_object(server, body, code, field):
    assert_error(send(server, body if isinstance(body, str) else json.dumps(body)), 400, code,
                 field)


@pytest.mark.parametrize("body,code,field", [
    ({"events": []}, "INVALID_VALUE", "events"),
    ({"events": {}}, "INVALID_TYPE", "events"),
    ({}, "MISSING_FIELD", "events"),
    ({"events": [], "more": 1}, "UNKNOWN_FIELD", "more"),
    ([], "INVALID_BODY", None),
], ids=["empty", "not-array", "missing", "unknown-field", "not-object"])
def test_batch_envelope(server, body, code, field):
    assert_error(send(server, body, path="/api/events/batch"), 400, code, field)


def test_batch_over_1000_events(server, redis_client, uniq):
    comp = uniq.comp()
    events = [uniq.event("CLICK", comp) for _ in range(1001)]
    data = json.dumps({"events": events}).encode()
    # Sent chunked, so that only the batch body limit applies (see
    # test_batch_body_larger_than_the_event_limit for the same with Content-Length).
    pieces = (data[i:i + 16384] for i in range(0, len(data), 16384))
    with changes_nothing(redis_client, uniq, comp):
        response = api.post(server.url("/api/events/batch"), data=pieces,
                                 headers={"Content-Type": "application/json"},
                                 timeout=HTTP_TIMEOUT)
        assert_error(response, 400, "INVALID_VALUE", "events")


# ---------------------------------------------------------------------------------------
# Bodies that are not acceptable JSON
# ---------------------------------------------------------------------------------------

def test_malformed_json(server, redis_client, uniq):
    comp = uniq.comp()
    text = json.dumps(uniq.event("CLICK", comp))
    with changes_nothing(redis_client, uniq, comp):
        for bad in (text[:-1], text + "x", text.replace(":", "=", 1), "{'a': 1}"):
            assert_error(send(server, bad), 400, "MALFORMED_JSON", None)
        assert_error(send(server, text[:-1], path="/api/events/batch"), 400, "MALFORMED_JSON",
                     None)


def test_json_nested_100_deep(server, redis_client, uniq):
    comp = uniq.comp()
    deep = "[" * 100 + "]" * 100
    text = json.dumps(uniq.event("CLICK", comp))[:-2] + ', "deep": ' + deep + "}}"
    json.loads(text)  # valid JSON, only too deep
    with changes_nothing(redis_client, uniq, comp):
        assert_error(send(server, text), 400, "MALFORMED_JSON", None)
        deep_object = '{"a":' * 100 + "1" + "}" * 100
        assert_error(send(server, deep_object), 400, "MALFORMED_JSON", None)


@pytest.mark.parametrize("bad_bytes", [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf"],
                         ids=["ff-fe", "bad-continuation", "surrogate", "overlong"])
def test_invalid_utf8(server, redis_client, uniq, bad_bytes):
    comp = uniq.comp()
    body = ('{"eventType":"CLICK","sessionId":"%s-' % uniq.session).encode() + bad_bytes + \
        ('","metadata":{"componentId":%d}}' % comp).encode()
    with changes_nothing(redis_client, uniq, comp):
        assert_error(send(server, body), 400, "MALFORMED_JSON", None)


def test_wrong_content_type(server, redis_client, uniq):
    comp = uniq.comp()
    body = uniq.event("CLICK", comp)
    with changes_nothing(redis_client, uniq, comp):
        # text/plain is taken (what sendBeacon sends; see test_client_edge.py).
        for content_type in ("text/html", "application/x-www-form-urlencoded",
                             "application/jsonx", "multipart/form-data", None):
            assert_error(send(server, body, content_type=content_type), 415,
                         "UNSUPPORTED_MEDIA_TYPE", None)
        assert_error(send(server, {"events": [body]}, path="/api/events/batch",
                          content_type="text/csv"), 415, "UNSUPPORTED_MEDIA_TYPE", None)
    # Parameters and letter case do not matter.
    response = send(server, body, content_type="Application/JSON; charset=utf-8")
    assert response.status_code == 202, response.text


def test_empty_body(server, redis_client, uniq):
    comp = uniq.comp()
    with changes_nothing(redis_client, uniq, comp):
        for path in ("/api/events", "/api/users/events", "/api/events/batch"):
            assert_error(send(server, b"", path=path), 411, "BODY_REQUIRED", None)
        # No Content-Length at all.
        response, _ = raw_request(
            server, b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n\r\n",
            wait_close=False)
        raw_error(response, 411)


def padded_event(uniq, comp, size):
    body = uniq.event("CLICK", comp, metadata={"pad": ""})
    body["metadata"]["pad"] = "p" * (size - len(json.dumps(body)))
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


def post_head(path, length):
    return (b"POST %s HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (path.encode(), length))


def test_body_over_limit_with_content_length(server, redis_client, uniq):
    comp = uniq.comp()
    data = padded_event(uniq, comp, BODY_LIMIT + 1)
    with changes_nothing(redis_client, uniq, comp):
        response, closed = raw_request(server, post_head("/api/events", len(data)), data)
        raw_error(response, 413, "BODY_TOO_LARGE")
        assert closed


def test_body_announced_far_over_limit(server, redis_client, uniq):
    # Refused on the announced length alone, before any body is sent.
    response, closed = raw_request(server, post_head("/api/events", 100_000_000))
    raw_error(response, 413, "BODY_TOO_LARGE")
    assert closed


def test_body_at_limit_is_accepted(server, uniq):
    data = padded_event(uniq, uniq.comp(), BODY_LIMIT)
    response, _ = raw_request(server, post_head("/api/events", len(data)), data, wait_close=False)
    assert response.status == 202, response.body


def test_batch_body_larger_than_the_event_limit(server, redis_client, uniq):
    # The batch path has its own, larger limit (--batch-body-limit, 4 MiB by default).
    comp = uniq.comp()
    data = b'{"events": [' + padded_event(uniq, comp, 2 * BODY_LIMIT) + b"]}"
    response, _ = raw_request(server, post_head("/api/events/batch", len(data)), data,
                              wait_close=False)
    assert response.status == 202, response.body
    assert totals(redis_client, comp)["CLICK"] == 1


def test_body_over_limit_chunked(server, redis_client, uniq):
    comp = uniq.comp()
    data = padded_event(uniq, comp, BODY_LIMIT + 1000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 1000]), data[i:i + 1000])
                      for i in range(0, len(data), 1000)) + b"0\r\n\r\n"
    head = (b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    with changes_nothing(redis_client, uniq, comp):
        response, closed = raw_request(server, head, chunks)
        raw_error(response, 413, "BODY_TOO_LARGE")
        assert closed
    # The same framing under the limit is accepted.
    small = padded_event(uniq, uniq.comp(), 2000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(small[i:i + 700]), small[i:i + 700])
                      for i in range(0, len(small), 700)) + b"0\r\n\r\n"
    response, _ = raw_request(server, head, chunks, wait_close=False)
    assert response.status == 202, response.body


# ---------------------------------------------------------------------------------------
# Paths, methods, and requests that are not HTTP
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/api/nope"), ("POST", "/api/nope"), ("GET", "/index.htm"), ("POST", "/api/events/extra"),
    ("POST", "/api/event"), ("GET", "/health"),
])
def test_unknown_path(server, redis_client, uniq, method, path):
    comp = uniq.comp()
    data = json.dumps(uniq.event("CLICK", comp)) if method == "POST" else None
    with changes_nothing(redis_client, uniq, comp):
        response = api.request(method, server.url(path), data=data, timeout=HTTP_TIMEOUT,
                                    headers={"Content-Type": "application/json"})
        assert_error(response, 404, "NOT_FOUND", None)


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/api/events/batch", "POST"), ("PUT", "/api/events", "POST, GET"), ("POST", "/", "GET"),
    ("DELETE", "/api/users/events", "POST"), ("PATCH", "/api/events/batch", "POST"),
    ("POST", "/health/live", "GET"), ("DELETE", "/metrics", "GET"),
])
def test_wrong_method(server, redis_client, uniq, method, path, allow):
    comp = uniq.comp()
    data = json.dumps(uniq.event("CLICK", comp)) if method != "GET" else None
    with changes_nothing(redis_client, uniq, comp):
        response = api.request(method, server.url(path), data=data, timeout=HTTP_TIMEOUT,
                                    headers={"Content-Type": "application/json"})
        assert_error(response, 405, "METHOD_NOT_ALLOWED", None)
    assert response.headers.get("Allow") == allow


# Every GET route, with parameters naming the test's user and keyword where it takes them.
GET_ROUTES = [
    "/api/statistics?eventType=SEARCH&componentId=1001&keyword={kw}",
    "/api/statistics/series?eventType=SEARCH&componentId=1001&keyword={kw}",
    "/api/statistics/top-posts", "/api/statistics/keywords",
    "/api/statistics/unique-users?eventType=SEARCH", "/api/statistics/summary",
    "/api/posts/1", "/api/search?keyword={kw}&userId={user}", "/api/search/recent/{user}",
    "/health/live", "/health/ready", "/metrics",
]


@pytest.mark.parametrize("path", GET_ROUTES)
def test_head_changes_nothing(server, redis_client, uniq, path):
    user, kw = uniq.user(), uniq.keyword()
    mark, length = stream_mark(redis_client), redis_client.xlen(STREAM)
    response = api.head(server.url(path.format(user=user, kw=kw)), timeout=HTTP_TIMEOUT)
    assert response.status_code < 500 and response.content == b""
    if path.startswith("/api/search?"):
        # Searching records a SEARCH event: HEAD cannot run it, and says which method can.
        assert response.status_code == 405 and response.headers.get("Allow") == "GET"
    rows = stream_rows_since(redis_client, mark)
    assert rows_with(rows, kw) == [] and rows_with(rows, str(user)) == []
    assert redis_client.lrange(f"{SHARD}recent:{user}", 0, -1) == []
    assert totals(redis_client, 1001, kw=kw)["SEARCH"] == 0
    if not redis_is_shared():
        assert redis_client.xlen(STREAM) == length


@pytest.mark.parametrize("request_line", [
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    b"POST /api/events HTTP/1.1 extra\r\n\r\n",
    b"POST /api/events HTTP/7.0\r\n\r\n",
], ids=["word", "tls-hello", "extra-token", "bad-version"])
def test_garbage_request_line(server, redis_client, uniq, request_line):
    comp = uniq.comp()
    body = json.dumps(uniq.event("CLICK", comp)).encode()
    with changes_nothing(redis_client, uniq, comp):
        response, closed = raw_request(server, request_line, body)
        raw_error(response, 400)
        assert closed, "the connection must close after a request that is not HTTP"
    assert api.get(server.url("/health/live"), timeout=HTTP_TIMEOUT).status_code == 200


def framing_cases():
    head = b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
    return {
        "two-content-lengths": lambda body: head + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
        % (len(body), len(body) + 1) + body,
        "content-length-and-chunked": lambda body: head + b"Content-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
        "negative-content-length": lambda body: head + b"Content-Length: -1\r\n\r\n" + body,
        "bad-chunk-size": lambda body: head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body
        + b"\r\n0\r\n\r\n",
        # RFC 9112 6.3: chunked not last -> the length is unknown -> 400 and close.
        "transfer-encoding-not-chunked": lambda body: head + b"Transfer-Encoding: gzip\r\n\r\n" + body,
    }


@pytest.mark.parametrize("case", list(framing_cases()))
def test_ambiguous_message_framing(server, redis_client, uniq, case):
    comp = uniq.comp()
    body = json.dumps(uniq.event("CLICK", comp)).encode()
    with changes_nothing(redis_client, uniq, comp):
        response, closed = raw_request(server, framing_cases()[case](body))
        raw_error(response, 400)
        assert closed, "the connection must close when the message length is unknown"


def assert_headers_refused(server, redis_client, uniq, head_fields):
    comp = uniq.comp()
    body = json.dumps(uniq.event("CLICK", comp)).encode()
    head = (b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n" % len(body)) + head_fields + b"\r\n"
    assert len(head) > 16 * 1024
    with changes_nothing(redis_client, uniq, comp):
        response, closed = raw_request(server, head, body)
        raw_error(response, 431, "HEADERS_TOO_LARGE")
        assert closed


def test_one_header_over_16_kib(server, redis_client, uniq):
    assert_headers_refused(server, redis_client, uniq, b"Cookie: " + b"c" * 17_000 + b"\r\n")


def test_headers_over_16_kib_in_total(server, redis_client, uniq):
    # 17 fields of about 1 KB each.
    fields = b"".join(b"X-Filler-%02d: %s\r\n" % (i, b"f" * 1000) for i in range(17))
    assert_headers_refused(server, redis_client, uniq, fields)
