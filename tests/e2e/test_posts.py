"""Posts, like toggles, hashtag search and recent keywords through the real server: the
API contract's answers, the LIKE / UNLIKE / SEARCH events they record in the stream,
consistency under concurrent toggles, one database query for many concurrent searches
of a cold keyword, and a 4xx for every bad input.

Posts live in the shared PostgreSQL: every test uses hashtags, users and contents made
from its own token, so it sees only its own posts whatever else is in the tables.
"""

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import api, TrackerClient, HTTP_TIMEOUT, assert_error, post, stream_mark, stream_rows_since

RECENT_TTL_S = 2
SEARCH = 1001  # component ids of the server's own events
LIKE = 1003


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory(f"--recent-keywords-ttl-s={RECENT_TTL_S}")


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------

def create_post(server, user, content, hashtags=(), image_urls=(), **extra):
    body = {"userId": user, "content": content, "hashtags": list(hashtags),
            "imageUrls": list(image_urls), **extra}
    response = post(server, "/api/posts", body)
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]
    assert isinstance(post_id, int) and post_id > 0
    assert response.headers["Location"] == f"/api/posts/{post_id}"
    return post_id


def get_post(server, post_id):
    response = api.get(server.url(f"/api/posts/{post_id}"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def toggle(server, user, post_id, session=None):
    response = (session or api).post(server.url("/api/posts/like"),
                                          json={"userId": user, "postId": post_id}, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["postId"] == post_id and body["userId"] == user
    return body["liked"], body["likeCount"]


def search(server, keyword, user=None, limit=None, session=None):
    params = {"keyword": keyword}
    if user is not None:
        params["userId"] = user
    if limit is not None:
        params["limit"] = limit
    response = (session or api).get(server.url("/api/search"), params=params, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def recent(server, user):
    response = api.get(server.url(f"/api/search/recent/{user}"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["userId"] == user
    return body["keywords"]


def metric(server, name):
    text = api.get(server.url("/metrics"), timeout=HTTP_TIMEOUT).text
    found = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    return int(found.group(1)) if found else 0


def wait_for_ranking(server, applied_before, posts):
    """Waits until the server's search-ranking upkeep has taken in `posts` more changed posts."""
    deadline = time.monotonic() + 10
    while metric(server, "tracker_search_ranking_posts_applied_total") - applied_before < posts:
        assert time.monotonic() < deadline, "the search ranking did not take the changes in"
        time.sleep(0.05)


def events(r, mark):
    """The events stored after `mark`: (type, user, session, component, post, keyword, metadata)."""
    out = []
    for row in stream_rows_since(r, mark):
        cols = row.split("\t")
        out.append({"type": cols[1], "user": cols[2], "session": cols[3], "component": int(cols[4]),
                    "post": cols[6], "keyword": cols[7], "metadata": json.loads(cols[8])})
    return out


def concurrently(count, task):
    """Runs task(i) for i in range(count) on as many threads, released together."""
    start = threading.Barrier(count)

    def run(i):
        start.wait()
        return task(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


# ---------------------------------------------------------------------------------------
# Posts
# ---------------------------------------------------------------------------------------

def test_create_and_get(server, uniq):
    user = uniq.user()
    post_id = create_post(server, user, "Hello from e2e\nsecond line", hashtags=["#Food", "seoul", "FOOD"],
                          image_urls=["https://img.example.com/a.jpg"])
    body = get_post(server, post_id)
    assert body["id"] == post_id
    assert body["userId"] == user
    assert body["content"] == "Hello from e2e\nsecond line"
    assert body["hashtags"] == ["food", "seoul"]  # normalised, without repeats
    assert body["imageUrls"] == ["https://img.example.com/a.jpg"]
    assert body["likeCount"] == 0
    assert body["visibility"] == "PUBLIC"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["createdAt"])
    assert body["updatedAt"] == body["createdAt"]
    minimal = create_post(server, user, "only content")
    assert get_post(server, minimal)["hashtags"] == []


def test_unknown_post_is_404(server):
    response = api.get(server.url("/api/posts/9223372036854775807"), timeout=HTTP_TIMEOUT)
    assert_error(response, 404, "NOT_FOUND")
    response = post(server, "/api/posts/like", {"userId": 1, "postId": 9223372036854775807})
    assert_error(response, 404, "NOT_FOUND", "postId")


# ---------------------------------------------------------------------------------------
# Likes
# ---------------------------------------------------------------------------------------

def test_toggle_sequence_records_like_and_unlike_events(server, redis_client, uniq):
    post_id = create_post(server, uniq.user(), f"toggle {uniq.token}")
    alice, bob = uniq.user(), uniq.user()
    mark = stream_mark(redis_client)
    steps = [(alice, True, 1), (bob, True, 2), (alice, False, 1), (alice, True, 2), (bob, False, 1)]
    for user, liked, count in steps:
        assert toggle(server, user, post_id) == (liked, count)
    assert get_post(server, post_id)["likeCount"] == 1

    mine = [e for e in events(redis_client, mark) if e["post"] == str(post_id)]
    assert [(e["type"], int(e["user"])) for e in mine] == [
        ("LIKE" if liked else "UNLIKE", user) for user, liked, _ in steps]
    for e in mine:
        assert e["component"] == LIKE
        assert e["session"] == "server"
        assert e["metadata"] == {"componentId": LIKE, "postId": post_id}


def test_50_concurrent_toggles_by_one_user_end_consistent(server, redis_client, uniq):
    post_id = create_post(server, uniq.user(), f"race {uniq.token}")
    user = uniq.user()
    mark = stream_mark(redis_client)
    sessions = [TrackerClient() for _ in range(50)]
    answers = concurrently(50, lambda i: toggle(server, user, post_id, sessions[i]))
    # Toggles of one post take turns: each flips the state, and the answers are the states
    # in between: 25 times (liked, 1) and 25 times (not liked, 0).
    assert sorted(answers) == [(False, 0)] * 25 + [(True, 1)] * 25
    assert get_post(server, post_id)["likeCount"] == 0
    # Exactly one event per change.
    mine = [e["type"] for e in events(redis_client, mark) if e["post"] == str(post_id)]
    assert sorted(mine) == ["LIKE"] * 25 + ["UNLIKE"] * 25
    # Still consistent afterwards: one more toggle likes it.
    assert toggle(server, user, post_id) == (True, 1)


def test_concurrent_toggles_by_many_users(server, uniq):
    post_id = create_post(server, uniq.user(), f"crowd {uniq.token}")
    users = [uniq.user() for _ in range(30)]
    sessions = [TrackerClient() for _ in range(60)]
    # Each user toggles twice, all at once: every like is taken back.
    answers = concurrently(60, lambda i: toggle(server, users[i % 30], post_id, sessions[i]))
    assert all(0 <= count <= 30 for _, count in answers)
    assert sum(1 for liked, _ in answers if liked) == 30
    assert get_post(server, post_id)["likeCount"] == 0


# ---------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------

def test_search_orders_by_likes_then_newest_and_records_the_search(server, redis_client, uniq):
    tag = f"e2e{uniq.token}"
    ids = [create_post(server, uniq.user(), f"post {i}", hashtags=[tag, "other"]) for i in range(4)]
    private = create_post(server, uniq.user(), "hidden", hashtags=[tag], visibility="PRIVATE")
    create_post(server, uniq.user(), "untagged", hashtags=["other"])
    applied = metric(server, "tracker_search_ranking_posts_applied_total")
    for post_id, likes in ((ids[1], 2), (ids[2], 1), (ids[3], 2), (private, 3)):
        for _ in range(likes):
            toggle(server, uniq.user(), post_id)
    # The ranking takes like counts in within --search-ranking-lag-ms: the top 2 below
    # depend on it (an answer holding all four is in order of current counts anyway).
    wait_for_ranking(server, applied, 4)

    user = uniq.user()
    mark = stream_mark(redis_client)
    body = search(server, f"  #{tag.upper()} ", user=user)
    assert body["keyword"] == tag  # normalised
    assert [p["id"] for p in body["posts"]] == [ids[3], ids[1], ids[2], ids[0]]
    assert [p["likeCount"] for p in body["posts"]] == [2, 2, 1, 0]
    first = body["posts"][0]
    assert set(first) == {"id", "userId", "content", "imageUrls", "hashtags", "likeCount", "createdAt"}
    assert first["content"] == "post 3" and first["hashtags"] == [tag, "other"]
    assert [p["id"] for p in search(server, tag, limit=2)["posts"]] == [ids[3], ids[1]]

    searches = [e for e in events(redis_client, mark) if e["keyword"] == tag]
    assert len(searches) == 2
    assert searches[0]["type"] == "SEARCH"
    assert searches[0]["component"] == SEARCH
    assert searches[0]["user"] == str(user)
    assert searches[0]["metadata"] == {"componentId": SEARCH, "keyword": tag}
    assert searches[1]["user"] == "\\N"  # anonymous search
    assert recent(server, user) == [tag]


def test_search_without_matches(server, uniq):
    body = search(server, f"nothing{uniq.token}", user=uniq.user())
    assert body == {"keyword": f"nothing{uniq.token}", "posts": []}


def test_cached_results_may_lag_like_counts(server, uniq):
    tag = f"lag{uniq.token}"
    post_id = create_post(server, uniq.user(), "lagging", hashtags=[tag])
    assert search(server, tag)["posts"][0]["likeCount"] == 0
    toggle(server, uniq.user(), post_id)
    # Served from the cache (fresh for about 30 s): the count there is older.
    assert search(server, tag)["posts"][0]["likeCount"] == 0
    assert get_post(server, post_id)["likeCount"] == 1


def test_uncached_server_reads_current_counts(start_server, uniq):
    server = start_server("--search-cache-ttl-ms=0")
    tag = f"nocache{uniq.token}"
    post_id = create_post(server, uniq.user(), "fresh", hashtags=[tag])
    before = metric(server, "tracker_search_db_queries_total")
    assert search(server, tag)["posts"][0]["likeCount"] == 0
    toggle(server, uniq.user(), post_id)
    assert search(server, tag)["posts"][0]["likeCount"] == 1
    assert metric(server, "tracker_search_db_queries_total") - before == 2


def test_200_concurrent_searches_of_a_cold_keyword_query_once(server, uniq):
    tag = f"cold{uniq.token}"
    ids = [create_post(server, uniq.user(), f"cold {i}", hashtags=[tag]) for i in range(3)]
    sessions = [TrackerClient() for _ in range(200)]
    concurrently(200, lambda i: sessions[i].get(server.url("/health/live"), timeout=HTTP_TIMEOUT))  # connect
    before = metric(server, "tracker_search_db_queries_total")
    answers = concurrently(200, lambda i: search(server, tag, user=uniq.user(), session=sessions[i]))
    assert metric(server, "tracker_search_db_queries_total") - before == 1
    assert all(sorted(p["id"] for p in a["posts"]) == sorted(ids) for a in answers)


def test_requests_wait_for_the_one_rebuilding_a_missing_entry(server, redis_client, uniq):
    """The rebuild lock is held (as if a slow rebuild were running) while 200 searches
    arrive: they all wait; when it expires one of them rebuilds, the others get its copy."""
    tag = f"wait{uniq.token}"
    create_post(server, uniq.user(), "waited for", hashtags=[tag])
    sessions = [TrackerClient() for _ in range(200)]
    concurrently(200, lambda i: sessions[i].get(server.url("/health/live"), timeout=HTTP_TIMEOUT))  # connect
    redis_client.set(f"et:search-lock:{{10:{tag}}}", "someone-else", px=1000)
    queries = metric(server, "tracker_search_db_queries_total")
    waited = metric(server, 'tracker_search_cache_total{result="waited"}')
    started = time.monotonic()
    answers = concurrently(200, lambda i: search(server, tag, session=sessions[i]))
    assert time.monotonic() - started >= 0.8  # nobody got past the held lock
    assert all(len(a["posts"]) == 1 for a in answers)
    assert metric(server, "tracker_search_db_queries_total") - queries == 1
    assert metric(server, 'tracker_search_cache_total{result="waited"}') - waited >= 150
    assert redis_client.pttl(f"et:search:{{10:{tag}}}") > 30_000  # fresh TTL + stale time


def test_expired_entry_is_rebuilt_once_while_others_get_the_stale_copy(server, redis_client, uniq):
    tag = f"stale{uniq.token}"
    post_id = create_post(server, uniq.user(), "stale", hashtags=[tag])
    search(server, tag)
    key = f"et:search:{{10:{tag}}}"
    entry = json.loads(redis_client.get(key))
    entry["fresh"] = int(time.time() * 1000) - 1000  # expired a second ago, still kept
    redis_client.set(key, json.dumps(entry), px=60_000)
    toggle(server, uniq.user(), post_id)
    sessions = [TrackerClient() for _ in range(50)]
    before = metric(server, "tracker_search_db_queries_total")
    answers = concurrently(50, lambda i: search(server, tag, session=sessions[i]))
    assert metric(server, "tracker_search_db_queries_total") - before == 1
    counts = [a["posts"][0]["likeCount"] for a in answers]
    assert counts.count(1) >= 1  # the rebuild
    assert set(counts) <= {0, 1}  # the others: the stale copy, or the new one once stored
    assert search(server, tag)["posts"][0]["likeCount"] == 1


def test_empty_results_are_cached_shorter(server, redis_client, uniq):
    tag = f"empty{uniq.token}"
    search(server, tag)
    full = f"full{uniq.token}"
    create_post(server, uniq.user(), "full", hashtags=[full])
    search(server, full)
    empty_entry = json.loads(redis_client.get(f"et:search:{{10:{tag}}}"))
    full_entry = json.loads(redis_client.get(f"et:search:{{10:{full}}}"))
    now = int(time.time() * 1000)
    assert 3_500 <= empty_entry["fresh"] - now <= 6_000   # 5 s +- 20 %
    assert 23_500 <= full_entry["fresh"] - now <= 36_000  # 30 s +- 20 %


# ---------------------------------------------------------------------------------------
# Recent keywords
# ---------------------------------------------------------------------------------------

def test_recent_keywords_order_dedup_and_cap(server, uniq):
    user = uniq.user()
    assert recent(server, user) == []
    words = [f"r{i}{uniq.token}" for i in range(12)]
    for word in words:
        search(server, word, user=user)
    assert recent(server, user) == list(reversed(words))[:10]  # newest first, at most 10
    search(server, f"#{words[5].upper()}", user=user)  # again, in another spelling
    got = recent(server, user)
    assert got[0] == words[5]
    assert len(got) == 10 and len(set(got)) == 10
    assert got[1:] == [w for w in reversed(words) if w != words[5]][:9]
    assert recent(server, uniq.user()) == []  # someone else's are their own


def test_recent_keywords_expire(server, uniq):
    user = uniq.user()
    search(server, f"x{uniq.token}", user=user)
    assert recent(server, user) == [f"x{uniq.token}"]
    time.sleep(RECENT_TTL_S + 0.5)
    assert recent(server, user) == []


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------

def send(server, method, path, body=None, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    data = body if body is None or isinstance(body, (bytes, str)) else json.dumps(body)
    return api.request(method, server.url(path), data=data, headers=headers, timeout=HTTP_TIMEOUT)


BAD_POSTS = [
    ({"content": "x"}, "userId"),
    ({"userId": "7", "content": "x"}, "userId"),
    ({"userId": 0, "content": "x"}, "userId"),
    ({"userId": 1.5, "content": "x"}, "userId"),
    ({"userId": 7}, "content"),
    ({"userId": 7, "content": ""}, "content"),
    ({"userId": 7, "content": "   "}, "content"),
    ({"userId": 7, "content": "x" * 5001}, "content"),
    ({"userId": 7, "content": "bell \u0007"}, "content"),
    ({"userId": 7, "content": 42}, "content"),
    ({"userId": 7, "content": "x", "imageUrls": "https://a.example/1.jpg"}, "imageUrls"),
    ({"userId": 7, "content": "x", "imageUrls": ["ftp://a.example/1.jpg"]}, "imageUrls[0]"),
    ({"userId": 7, "content": "x", "imageUrls": ["not a url"]}, "imageUrls[0]"),
    ({"userId": 7, "content": "x", "imageUrls": [f"https://a.example/{i}" for i in range(11)]}, "imageUrls"),
    ({"userId": 7, "content": "x", "hashtags": "food"}, "hashtags"),
    ({"userId": 7, "content": "x", "hashtags": [""]}, "hashtags[0]"),
    ({"userId": 7, "content": "x", "hashtags": ["ok", "two words"]}, "hashtags[1]"),
    ({"userId": 7, "content": "x", "hashtags": ["t" * 51]}, "hashtags[0]"),
    ({"userId": 7, "content": "x", "hashtags": [f"t{i}" for i in range(11)]}, "hashtags"),
    ({"userId": 7, "content": "x", "hashtags": [1]}, "hashtags[0]"),
    ({"userId": 7, "content": "x", "visibility": "FRIENDS"}, "visibility"),
    ({"userId": 7, "content": "x", "title": "unknown"}, "title"),
]


@pytest.mark.parametrize("body,field", BAD_POSTS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_POSTS)])
def test_bad_post_is_400(server, body, field):
    assert_error(send(server, "POST", "/api/posts", body), 400, field=field)


BAD_TOGGLES = [
    ({"postId": 1}, "userId"),
    ({"userId": 1}, "postId"),
    ({"userId": 1, "postId": "1"}, "postId"),
    ({"userId": 1, "postId": -1}, "postId"),
    ({"userId": 1, "postId": 1, "liked": True}, "liked"),
]


@pytest.mark.parametrize("body,field", BAD_TOGGLES, ids=[f for _, f in BAD_TOGGLES])
def test_bad_toggle_is_400(server, body, field):
    assert_error(send(server, "POST", "/api/posts/like", body), 400, field=field)


@pytest.mark.parametrize("path", ["/api/posts", "/api/posts/like"])
def test_bodies_must_be_json(server, path):
    assert_error(send(server, "POST", path, None), 411, "BODY_REQUIRED")
    assert_error(send(server, "POST", path, '{"userId": 1}', content_type="text/plain"), 415)
    assert_error(send(server, "POST", path, "{not json"), 400, "MALFORMED_JSON")
    assert_error(send(server, "POST", path, "[1, 2]"), 400, "INVALID_BODY")


BAD_SEARCHES = [
    ("", "keyword"),
    ("keyword=", "keyword"),
    ("keyword=%20%20", "keyword"),
    ("keyword=two%20words", "keyword"),
    ("keyword=" + "k" * 51, "keyword"),
    ("keyword=k&userId=0", "userId"),
    ("keyword=k&userId=abc", "userId"),
    ("keyword=k&limit=0", "limit"),
    ("keyword=k&limit=51", "limit"),
    ("keyword=k&limit=x", "limit"),
    ("keyword=k&page=2", "page"),
]


@pytest.mark.parametrize("query,field", BAD_SEARCHES, ids=[q or "empty" for q, _ in BAD_SEARCHES])
def test_bad_search_is_400(server, query, field):
    assert_error(send(server, "GET", f"/api/search?{query}", content_type=None), 400, field=field)


@pytest.mark.parametrize("path,field", [("/api/posts/abc", "id"), ("/api/posts/0", "id"),
                                        ("/api/posts/99999999999999999999", "id"),
                                        ("/api/posts/like", "id"), ("/api/posts/1?x=1", "x"),
                                        ("/api/search/recent/abc", "userId"),
                                        ("/api/search/recent/-4", "userId"),
                                        ("/api/search/recent/1?full=1", "full")])
def test_bad_path_is_400(server, path, field):
    assert_error(send(server, "GET", path, content_type=None), 400, field=field)


@pytest.mark.parametrize("method,path", [("PUT", "/api/posts"), ("GET", "/api/posts"), ("DELETE", "/api/posts/1"),
                                         ("POST", "/api/posts/1"), ("POST", "/api/search"),
                                         ("DELETE", "/api/search/recent/1")])
def test_wrong_method_is_405(server, method, path):
    response = send(server, method, path, content_type=None)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers.get("Allow")


def test_rejected_input_records_nothing(server, redis_client, uniq):
    mark = stream_mark(redis_client)
    send(server, "POST", "/api/posts/like", {"userId": uniq.user(), "postId": 9223372036854775807})
    send(server, "GET", f"/api/search?keyword=two%20words{uniq.token}", content_type=None)
    send(server, "POST", "/api/posts", {"userId": uniq.user(), "content": f"{uniq.token}", "title": "x"})
    assert [row for row in stream_rows_since(redis_client, mark) if uniq.token in row] == []


# ---------------------------------------------------------------------------------------
# Redis outage (last: it stops the suite's Redis for a moment)
# ---------------------------------------------------------------------------------------

def test_toggle_whose_event_cannot_be_recorded_is_503_and_stands(start_server, redis_service, uniq):
    server = start_server("--redis-timeout-ms=500")
    post_id = create_post(server, uniq.user(), f"outage {uniq.token}", hashtags=[f"out{uniq.token}"])
    user = uniq.user()
    try:
        redis_service.stop()  # tools/dev.sh redis-stop
        response = post(server, "/api/posts/like", {"userId": user, "postId": post_id})
        error = assert_error(response, 503, "EVENT_NOT_RECORDED")
        assert "now liked (likeCount 1)" in error["message"]
        assert response.headers.get("Retry-After")
        # The like is committed in PostgreSQL all the same.
        assert get_post(server, post_id)["likeCount"] == 1
        # Searches need Redis (the cache and the SEARCH event): 503, not 500.
        assert_error(api.get(server.url("/api/search"), params={"keyword": f"out{uniq.token}"},
                                  timeout=HTTP_TIMEOUT), 503)
        assert_error(api.get(server.url(f"/api/search/recent/{user}"), timeout=HTTP_TIMEOUT), 503)
    finally:
        if not redis_service.running():
            redis_service.start()  # tools/dev.sh redis-start
    deadline = time.monotonic() + 15
    while True:
        response = post(server, "/api/posts/like", {"userId": user, "postId": post_id})
        if response.status_code == 200:
            break
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, "toggles did not recover after Redis came back"
        time.sleep(0.2)
    # While Redis came back, failed attempts may have toggled too: the state is whatever the
    # last answer says, and it matches the post.
    assert response.json()["likeCount"] == get_post(server, post_id)["likeCount"]
