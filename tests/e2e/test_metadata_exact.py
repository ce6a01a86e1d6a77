"""Metadata reaches PostgreSQL exactly as sent, or the event is refused before its 202.

An acknowledged event whose row PostgreSQL refuses would land in events_rejected, and the
statistics would count an event that `events` lacks. So whatever jsonb cannot store is a
400, and everything accepted is stored with its numbers as written (the metadata's own
text goes into the row; jsonb keeps a numeric's digits and scale).
"""

import json
import os
import time

import psycopg2

from support import api, HTTP_TIMEOUT, assert_error

FAST_FLUSH = ("--flusher=true", "--flush-interval-ms=20", "--counter-flush-interval-ms=50")
PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")

# Numbers jsonb would refuse (or the server could not keep): each is a 400.
REFUSED = ["1e400", "-1e400", "[1e999]", "1e-20000", "0e99999", "{\"deep\":[1,2,1E+400]}",
           "123" + "0" * 400]
# Numbers as written -> what jsonb answers for `metadata -> 'x'` (its own spelling).
EXACT = {
    "1.0": "1.0",
    "-9223372036854775809": "-9223372036854775809",
    "18446744073709551616": "18446744073709551616",
    "0.1000000000000000055511151231257827": "0.1000000000000000055511151231257827",
    "1e-400": "0." + "0" * 399 + "1",
    "2.50E+2": "250",
    "-0.0": "0.0",  # numeric has no negative zero
    "[1.10, 1e3]": "[1.10, 1000]",
}


def send(server, path, text):
    return api.post(server.url(path), data=text.encode(), timeout=HTTP_TIMEOUT,
                         headers={"Content-Type": "application/json"})


def event_text(uniq, comp, x):
    return ('{"eventType":"CLICK","sessionId":"%s","metadata":{"componentId":%d,"x":%s}}'
            % (uniq.session, comp, x))


def wait_persisted(server):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        summary = api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT).json()
        if summary["pendingPersistence"] == 0:
            time.sleep(0.3)
            return
        time.sleep(0.05)
    raise AssertionError("events still pending after 30 s")


def query(sql, *params):
    with psycopg2.connect(PG_DSN, connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def click_count(server, comp):
    response = api.get(server.url("/api/statistics"), params={"eventType": "CLICK", "componentId": comp},
                            timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["count"]


def test_numbers_jsonb_cannot_store_are_refused_before_the_202(start_server, uniq):
    server = start_server(*FAST_FLUSH)
    comp = uniq.comp()
    for x in REFUSED:
        response = send(server, "/api/events", event_text(uniq, comp, x))
        assert_error(response, 400, "INVALID_VALUE", "metadata")
    # In a batch, the event is rejected by index and its neighbours stored.
    good = event_text(uniq, comp, "1")
    batch = '{"events":[%s,%s,%s]}' % (good, event_text(uniq, comp, "1e400"), good)
    response = send(server, "/api/events/batch", batch)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [1], body
    assert body["rejected"][0]["error"]["field"] == "metadata"
    wait_persisted(server)
    assert click_count(server, comp) == 2
    assert query("select count(*) from events where component_id = %s", comp) == [(2,)]


def test_metadata_is_stored_exactly_as_sent_and_every_counted_event_is_a_row(start_server, uniq):
    server = start_server(*FAST_FLUSH)
    comp = uniq.comp()
    ids = {}
    for x in EXACT:
        response = send(server, "/api/events", event_text(uniq, comp, x))
        assert response.status_code == 202, (x, response.text)
        ids[response.json()["eventId"]] = x
    # The same through a batch, pretty-printed, with escapes and a repeated key (the last
    # one counts, in the server's validation and in jsonb alike).
    batch = ('{\n "events": [\n  {"eventType": "CLICK", "sessionId": "%s",\n'
             '   "metadata": {"componentId": 1, "componentId": %d, "x": 1.0, "t": "caf\\u00e9\\n\\"q\\""}}\n ]\n}'
             % (uniq.session, comp))
    response = send(server, "/api/events/batch", batch)
    assert response.status_code == 202, response.text
    batch_id = response.json()["eventIds"][0]
    wait_persisted(server)

    rows = dict(query("select id::text, (metadata -> 'x')::text from events where component_id = %s", comp))
    for event_id, x in ids.items():
        assert rows.get(event_id) == EXACT[x], (x, rows.get(event_id))
    assert rows.get(batch_id) == "1.0"
    [(stored,)] = query("select metadata::text from events where id = %s", batch_id)
    assert json.loads(stored) == {"componentId": comp, "x": 1.0, "t": 'café\n"q"'}
    assert query("select count(*) from events_rejected where record like %s", f"%{uniq.session}%") == [(0,)]
    # What the statistics count is what `events` holds.
    assert click_count(server, comp) == len(EXACT) + 1 == len(rows)


def test_lone_surrogates_nul_escapes_and_deep_nesting_are_refused(start_server, uniq):
    server = start_server()
    comp = uniq.comp()
    for x in ['"\\ud800"', '"\\udc00x"', '"a\\u0000b"', '{"\\u0000":1}', '["\\ud83d"]', "[" * 20 + "]" * 20]:
        response = send(server, "/api/events", event_text(uniq, comp, x))
        assert response.status_code == 400, (x, response.text)
        assert response.json()["error"]["code"] in ("INVALID_VALUE", "MALFORMED_JSON"), response.text
