"""The user-service request mix shared by user_service.py and large_plan.py.

Per user, about one request per second: like toggles (3), hashtag searches (3), the
user's recent searches (1), CLICK (2) and PAGE_VIEW (2) events forwarded on
/api/users/events. Only the events posted here carry this run's session ids; the server
records a LIKE or UNLIKE event per toggle and a SEARCH event per search under its own
session id "server" (locust/check_run.py checks those counts too). Hashtags are
tag1..tagN, as tools/seed_dataset.sh makes them.
"""

import logging
import os
import random

import gevent
import requests
from locust import FastHttpUser, task

import tracker_load

log = logging.getLogger("user_mix")

SETTINGS = {"user_ids": 100, "posts": 1000, "keywords": 20}
POST_IDS = []          # the posts the like toggles go to
POST_RANGE = None      # or a range of ids (LT_POST_RANGE=A..B)
SEED_LIMIT = 50_000    # more posts than this: seed with tools/loadgen (locust/run.sh does)


def configure(user_ids, posts, keywords=20):
    SETTINGS["user_ids"] = int(os.environ.get("LT_USER_IDS", user_ids))
    SETTINGS["posts"] = int(os.environ.get("LT_POSTS", posts))
    SETTINGS["keywords"] = int(os.environ.get("LT_KEYWORDS", keywords))


def post_id_of(answer):
    """The new post's id in a POST /api/posts answer ({"postId"}, {"id"} or {"post": {...}})."""
    if isinstance(answer, dict):
        for name in ("postId", "id"):
            if isinstance(answer.get(name), int):
                return answer[name]
        return post_id_of(answer.get("post"))
    return None


def _abort(environment, message):
    log.error(message)
    environment.process_exit_code = 3
    gevent.spawn_later(0.1, environment.runner.quit)


def prepare(environment):
    """Checks that the posts API exists and makes the posts the toggles go to."""
    global POST_RANGE
    base = environment.host.rstrip("/")
    session = requests.Session()
    session.headers.update(tracker_load.WRITE_HEADERS)
    probe = session.post(base + "/api/posts", json={}, timeout=10)
    if probe.status_code == 404:
        _abort(environment, "POST /api/posts answers 404: the posts API is not there; "
                            "the user-service mix cannot run against this server")
        return
    wanted = os.environ.get("LT_POST_RANGE", "")
    if wanted:
        low, _, high = wanted.partition("..")
        POST_RANGE = (int(low), int(high))
        log.info("like toggles go to existing posts %s", wanted)
        return
    if SETTINGS["posts"] > SEED_LIMIT:
        _abort(environment, f"{SETTINGS['posts']} posts are too many to create from Locust; "
                            "seed them first (locust/run.sh does, with tools/loadgen) and pass LT_POST_RANGE")
        return
    rng = random.Random(tracker_load.RUN_ID)
    for n in range(SETTINGS["posts"]):
        tags = sorted({f"tag{rng.randint(1, SETTINGS['keywords'])}" for _ in range(2)})
        body = {"userId": rng.randint(1, SETTINGS["user_ids"]), "content": f"load test post {n}",
                "hashtags": tags}
        answer = session.post(base + "/api/posts", json=body, timeout=10)
        post_id = post_id_of(answer.json()) if answer.ok else None
        if post_id is None:
            _abort(environment, f"creating a post failed: {answer.status_code} {answer.text[:200]}")
            return
        POST_IDS.append(post_id)
    log.info("created %d posts (ids %d..%d)", len(POST_IDS), min(POST_IDS), max(POST_IDS))


def random_post():
    if POST_RANGE:
        return random.randint(*POST_RANGE)
    return random.choice(POST_IDS) if POST_IDS else random.randint(1, SETTINGS["posts"])


class UserMix(FastHttpUser):
    abstract = True
    wait_time = tracker_load.user_wait_time()

    def on_start(self):
        self.session_id = tracker_load.new_session_id()

    def user_id(self):
        return random.randint(1, SETTINGS["user_ids"])

    @task(3)
    def toggle_like(self):
        if not tracker_load.sending_allowed():
            return
        tracker_load.TALLY.sending(server_event=True)
        self.client.post("/api/posts/like", headers=tracker_load.WRITE_HEADERS, json={"userId": self.user_id(), "postId": random_post()},
                         name="/api/posts/like", context={"server_event": "LIKE"})

    @task(3)
    def search(self):
        if not tracker_load.sending_allowed():
            return
        keyword = f"tag{random.randint(1, SETTINGS['keywords'])}"
        tracker_load.TALLY.sending(server_event=True)
        self.client.get(f"/api/search?userId={self.user_id()}&keyword={keyword}", name="/api/search",
                        headers=tracker_load.WRITE_HEADERS,
                        context={"server_event": "SEARCH"})

    @task(1)
    def recent_searches(self):
        if not tracker_load.sending_allowed():
            return
        self.client.get(f"/api/search/recent/{self.user_id()}", name="/api/search/recent/[userId]",
                        headers=tracker_load.WRITE_HEADERS)

    def forward(self, event_type, component_id):
        if not tracker_load.sending_allowed():
            return
        event = {"eventType": event_type, "userId": self.user_id(), "sessionId": self.session_id,
                 "metadata": {"componentId": component_id, "elementId": f"element-{random.randint(1, 50)}",
                              "postId": random_post()}}
        tracker_load.TALLY.sending()
        self.client.post("/api/users/events", json=event, headers=tracker_load.WRITE_HEADERS, name=f"/api/users/events [{event_type}]",
                         context={"event": event})

    @task(2)
    def click(self):
        self.forward("CLICK", 1002)

    @task(2)
    def page_view(self):
        self.forward("PAGE_VIEW", 1000)
