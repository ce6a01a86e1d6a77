"""How answers are written: the compact series (format=columns) and gzip for large answers
when the client accepts it."""

import gzip
from datetime import datetime

from support import api, assert_error, HTTP_TIMEOUT, post

SERIES = "/api/statistics/series"
MINUTE_MS = 60_000
# A fixed past day: the answer is the same bytes on every request.
PAST_DAY = {"from": "2001-02-03T00:00:00Z", "to": "2001-02-04T00:00:00Z"}


def epoch_ms(rfc3339):
    return round(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def get(server, path, params=None, headers=None, **kwargs):
    return api.get(server.url(path), params=params, headers=headers, timeout=HTTP_TIMEOUT, **kwargs)


def test_columns_hold_the_counts_of_the_buckets(start_server, uniq):
    server = start_server()
    comp = uniq.comp()
    for _ in range(5):
        assert post(server, "/api/events", uniq.event("CLICK", comp=comp)).status_code == 202
    # The range is fixed here, so that both answers cover the same buckets.
    key = {"eventType": "CLICK", "componentId": comp}
    now = get(server, SERIES, {**key, "interval": "minute"}).json()
    for interval in ("minute", "hour"):
        params = {**key, "interval": interval, "from": now["from"], "to": now["to"]}
        buckets = get(server, SERIES, params).json()
        response = get(server, SERIES, {**params, "format": "columns"})
        assert response.status_code == 200, response.text
        columns = response.json()
        assert set(columns) == {"eventType", "interval", "from", "to", "total", "start", "step", "counts"}
        for member in ("eventType", "interval", "from", "to", "total"):
            assert columns[member] == buckets[member], member
        assert columns["total"] == 5
        assert columns["step"] == {"minute": MINUTE_MS, "hour": 60 * MINUTE_MS}[interval]
        assert columns["counts"] == [b["count"] for b in buckets["buckets"]]
        assert buckets["buckets"][0]["start"] == columns["from"]
        assert columns["start"] == epoch_ms(columns["from"])
        for i in (1, len(columns["counts"]) - 1):
            assert epoch_ms(buckets["buckets"][i]["start"]) == columns["start"] + i * columns["step"]


def test_an_unknown_format_is_refused(start_server):
    server = start_server()
    for bad in ("", "csv", "COLUMNS"):
        assert_error(get(server, SERIES, {"eventType": "CLICK", "format": bad}), 400, "INVALID_VALUE", "format")


def test_large_answers_are_gzipped_for_clients_that_accept_it(start_server):
    server = start_server()
    params = {"eventType": "CLICK", "interval": "minute", **PAST_DAY}
    plain = get(server, SERIES, params, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers.get("Vary", "")
    assert len(plain.content) > 1024

    zipped = get(server, SERIES, params, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers.get("Vary", "")
    wire = zipped.raw.read(decode_content=False)
    assert int(zipped.headers["Content-Length"]) == len(wire) < len(plain.content) / 4
    assert gzip.decompress(wire) == plain.content

    refused = get(server, SERIES, params, headers={"Accept-Encoding": "gzip;q=0, deflate"})
    assert "Content-Encoding" not in refused.headers
    assert refused.content == plain.content


def test_small_answers_and_errors_go_out_as_they_are(start_server):
    server = start_server()
    small = get(server, "/api/statistics", {"eventType": "CLICK", "componentId": 1}, headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200
    assert "Content-Encoding" not in small.headers
    assert "Accept-Encoding" not in small.headers.get("Vary", "")
    error = get(server, SERIES, {"eventType": "NOPE"}, headers={"Accept-Encoding": "gzip"})
    assert_error(error, 400, field="eventType")
    assert "Content-Encoding" not in error.headers


def test_a_compressed_answer_keeps_the_cors_vary(start_server):
    dashboard = "https://dashboard.example.com"
    server = start_server(f"--cors-origins={dashboard}")
    params = {"eventType": "CLICK", "interval": "minute", **PAST_DAY}
    response = get(server, SERIES, params, headers={"Accept-Encoding": "gzip", "Origin": dashboard})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Access-Control-Allow-Origin"] == dashboard
    vary = [v.strip().lower() for v in response.headers.get("Vary", "").split(",")]
    assert "accept-encoding" in vary and "origin" in vary
    assert response.json()["total"] == 0  # requests inflates it
