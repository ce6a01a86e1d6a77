"""DELETE /api/users/{userId}/events: the user's events leave PostgreSQL and the Redis
backlog alike, with their recent keywords and likes; other users keep everything; the
deletion is recorded and its answer counts exactly what went; aggregates stay. Under load,
with the flusher moving small batches all the time, deletions racing the flusher lose no
event of anybody else and leave none of the user's events that were acknowledged before
the deletion was sent (docs/DESIGN.md, "Erasing a user's data")."""

import os
import threading
import time

import psycopg2
import pytest

from support import api, HTTP_TIMEOUT, assert_error, free_port, post, stream_rows_since, stream_mark, wait_persisted

PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")
FLUSHER_ON = ("--flusher=true", "--flush-interval-ms=20")


def query(sql, *params):
    connection = psycopg2.connect(PG_DSN, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def delete_user(server, user):
    return api.delete(server.url(f"/api/users/{user}/events"), timeout=60)


def user_of(row):
    return row.split("\t")[2]


def send(server, events):
    response = post(server, "/api/events/batch", {"events": events})
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == len(events)
    return response.json()["eventIds"]


def test_flushed_and_unflushed_events_keywords_and_likes_go_and_others_stay(start_server, redis_client, uniq):
    user, other = uniq.user(), uniq.user()
    comp = uniq.comp()
    flushing = start_server(*FLUSHER_ON)
    # Stored: 6 CLICKs and 2 SEARCHes of the user, 4 CLICKs of the other; each likes a post.
    send(flushing, [uniq.event("CLICK", comp, userId=user) for _ in range(6)] +
         [uniq.event("SEARCH", comp, userId=user, metadata={"keyword": uniq.keyword(i)}) for i in range(2)] +
         [uniq.event("CLICK", comp, userId=other) for _ in range(4)])
    created = post(flushing, "/api/posts", {"userId": other, "content": "erase me not", "hashtags": [uniq.token]})
    post_id = created.json()["id"]
    for liker in (user, other):
        liked = post(flushing, "/api/posts/like", {"userId": liker, "postId": post_id})
        assert liked.status_code == 200 and liked.json()["liked"] is True, liked.text
    wait_persisted(flushing)
    flushing.stop()
    assert query("select count(*) from events where user_id = %s", user) == [(9,)]  # with the LIKE

    # Not flushed: 5 more of the user's, 3 of the other's, waiting in Redis.
    server = start_server()
    mark = stream_mark(redis_client)
    send(server, [uniq.event("PAGE_VIEW", comp, userId=user) for _ in range(5)] +
         [uniq.event("PAGE_VIEW", comp, userId=other) for _ in range(3)])
    like_count = api.get(server.url(f"/api/posts/{post_id}"), timeout=HTTP_TIMEOUT).json()["likeCount"]
    assert like_count == 2
    deletions_before = query("select count(*) from user_deletions where user_id = %s", user)[0][0]

    erased = delete_user(server, user)
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"userId": user, "eventsDeleted": {"stored": 9, "unflushed": 5, "rejected": 0},
                             "recentKeywordsDeleted": 2, "likesDeleted": 1}

    rows = stream_rows_since(redis_client, mark)
    assert [r for r in rows if user_of(r) == str(user)] == []
    assert len([r for r in rows if user_of(r) == str(other)]) == 3
    assert query("select count(*) from events where user_id = %s", user) == [(0,)]
    assert query("select count(*) from events where user_id = %s", other) == [(5,)]
    recent = api.get(server.url(f"/api/search/recent/{user}"), timeout=HTTP_TIMEOUT)
    assert recent.json()["keywords"] == []
    assert query("select user_id from likes where post_id = %s", post_id) == [(other,)]
    # Aggregates stay: the post's like count and the statistics still count the user.
    assert api.get(server.url(f"/api/posts/{post_id}"), timeout=HTTP_TIMEOUT).json()["likeCount"] == 2
    count = api.get(server.url(f"/api/statistics?eventType=CLICK&componentId={comp}"), timeout=HTTP_TIMEOUT)
    assert count.json() == {"count": 10}
    assert query("select events_stored, events_unflushed, events_rejected, recent_keywords, likes"
                 " from user_deletions where user_id = %s order by id desc limit 1", user) == [(9, 5, 0, 2, 1)]
    assert query("select count(*) from user_deletions where user_id = %s", user)[0][0] == deletions_before + 1

    # Flushed later, the other's events arrive and none of the user's come back.
    flushing = start_server(*FLUSHER_ON)
    wait_persisted(flushing)
    assert query("select count(*) from events where user_id = %s", user) == [(0,)]
    assert query("select count(*) from events where user_id = %s", other) == [(8,)]

    # A repeat finds nothing, and says so.
    again = delete_user(flushing, user)
    assert again.status_code == 200
    assert again.json() == {"userId": user, "eventsDeleted": {"stored": 0, "unflushed": 0, "rejected": 0},
                            "recentKeywordsDeleted": 0, "likesDeleted": 0}


def test_refused_rows_of_the_user_go_too(start_server, uniq):
    """A row PostgreSQL refused is kept in events_rejected: it holds the user's event too."""
    user = uniq.user()
    record = f"01900000-0000-7000-8000-{uniq.token[:12]}\tCLICK\t{user}\t{uniq.session}\t1\t\\N\t\\N\t\\N\t{{}}\t\\N\tx"
    query("insert into events_rejected (stream_id, record, error) values (%s, %s, 'test')",
          f"0-0/{uniq.token}", record)
    server = start_server()
    erased = delete_user(server, user)
    assert erased.status_code == 200, erased.text
    assert erased.json()["eventsDeleted"] == {"stored": 0, "unflushed": 0, "rejected": 1}
    assert query("select count(*) from events_rejected where stream_id = %s", f"0-0/{uniq.token}") == [(0,)]


@pytest.mark.parametrize("user", ["0", "-3", "abc", "1.5", "9223372036854775808", "%20"])
def test_bad_user_ids_are_400_and_change_nothing(start_server, user):
    server = start_server()
    before = query("select count(*) from user_deletions")
    response = api.delete(server.url(f"/api/users/{user}/events"), timeout=HTTP_TIMEOUT)
    assert_error(response, 400, "INVALID_VALUE", "userId")
    assert query("select count(*) from user_deletions") == before


def test_unknown_parameters_are_400(start_server):
    server = start_server()
    response = api.delete(server.url("/api/users/7/events?everything=true"), timeout=HTTP_TIMEOUT)
    assert_error(response, 400, "UNKNOWN_PARAMETER")


def test_redis_down_is_503_with_retry_after(start_server):
    server = start_server(f"--redis-port={free_port()}", "--redis-timeout-ms=300")
    response = delete_user(server, 7)
    assert_error(response, 503, "STORE_UNAVAILABLE")
    assert response.headers["Retry-After"]


def test_deletions_racing_the_flusher_under_load(start_server, uniq):
    """Senders mix the user's events into batches of many other users' while the flusher
    moves batches of 200 every few milliseconds, and the user is deleted three times
    meanwhile. Every event of the others is stored exactly once; every event of the user
    acknowledged before the last deletion was sent is gone; each of the user's events is
    either counted by a deletion or still stored, never both and never neither."""
    user, comp = uniq.user(), uniq.comp()
    others = [uniq.user() for _ in range(50)]
    server = start_server("--flusher=true", "--flush-interval-ms=5", "--flush-batch-size=200", "--io-threads=2")
    lock = threading.Lock()
    # (request sent, answer seen, event id): a sender thread may read its answer late (the
    # GIL, 4 threads), so an event counts as sent after a deletion by when its request went
    # out, and as acknowledged before one by when its answer was seen.
    acked_user, acked_others = [], []
    stop = threading.Event()
    failures = []

    def sender(n):
        i = 0
        while not stop.is_set():
            batch = [uniq.event("CLICK", comp, userId=others[(n * 7 + i + j) % len(others)]) for j in range(19)]
            batch.insert(i % 20, uniq.event("CLICK", comp, userId=user))
            started = time.monotonic()
            try:
                ids = send(server, batch)
            except AssertionError as error:
                failures.append(str(error))
                return
            now = time.monotonic()
            with lock:
                for event, event_id in zip(batch, ids):
                    (acked_user if event["userId"] == user else acked_others).append((started, now, event_id))
            i += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    erased = unflushed = 0
    try:
        for _ in range(3):
            time.sleep(1.0)
            sent_at = time.monotonic()
            response = delete_user(server, user)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["eventsDeleted"]["rejected"] == 0
            erased += body["eventsDeleted"]["stored"] + body["eventsDeleted"]["unflushed"]
            unflushed += body["eventsDeleted"]["unflushed"]
        answered_at = time.monotonic()
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures, failures[:3]
    wait_persisted(server, timeout=120)

    stored = {row[0] for row in query("select id::text from events where session_id = %s and user_id = %s",
                                      uniq.session, user)}
    assert len(stored) == len(query("select id from events where session_id = %s and user_id = %s",
                                    uniq.session, user))
    before = {event_id for _, acked_at, event_id in acked_user if acked_at < sent_at}
    after = {event_id for started, _, event_id in acked_user if started > answered_at}
    assert before and after
    assert not (before & stored), f"{len(before & stored)} events of the user came back"
    assert after <= stored, "events the user sent after the deletion answered were lost"
    assert erased + len(stored) == len(acked_user), (erased, len(stored), len(acked_user))
    assert unflushed > 0, "no deletion met events of the user waiting in Redis: the race was not exercised"

    others_stored = query("select id::text, count(*) from events where session_id = %s and user_id <> %s"
                          " group by id", uniq.session, user)
    assert all(n == 1 for _, n in others_stored)
    assert {event_id for event_id, _ in others_stored} == {event_id for _, _, event_id in acked_others}
    assert len(acked_others) > 1000
