"""Shared parts of the locustfiles: the run's identity, a tally of the events the server
acknowledged (written as JSON when Locust quits, for locust/check_run.py), and event
bodies in the clients' shape.

Environment (set by locust/run.sh; defaults suit a manual `locust -f ...`):
  LT_RUN_ID        unique per run; every sessionId sent starts with "lt-<LT_RUN_ID>-"
  LT_TALLY_FILE    where the tally goes (default: no file)
  LT_WAIT          seconds between a user's requests (default 1: one request per user per
                   second, like the clients' runs)
  LT_SECONDS       send for this many seconds from the first request, then stay idle
                   (default 0: until Locust stops). Give Locust's --run-time a few seconds
                   more: Locust ends a run by killing users, and a request cut off that way
                   may be stored by the server without its answer being counted here.
"""

import json
import os
import random
import threading
import time
import uuid
from collections import Counter

from locust import between, constant_throughput, events

RUN_ID = os.environ.get("LT_RUN_ID") or uuid.uuid4().hex[:12]
SESSION_PREFIX = f"lt-{RUN_ID}-"
TALLY_FILE = os.environ.get("LT_TALLY_FILE", "")
WAIT_SECONDS = float(os.environ.get("LT_WAIT", "1"))
RUN_SECONDS = float(os.environ.get("LT_SECONDS", "0"))
_deadline = []


def sending_allowed():
    """False once LT_SECONDS have passed since the run's first request."""
    if RUN_SECONDS <= 0:
        return True
    if not _deadline:
        _deadline.append(time.monotonic() + RUN_SECONDS)
    return time.monotonic() < _deadline[0]


def user_wait_time():
    """About one request per user per second (LT_WAIT=0: no pause at all)."""
    if WAIT_SECONDS <= 0:
        return between(0, 0)
    return constant_throughput(1.0 / WAIT_SECONDS)


def new_session_id():
    return SESSION_PREFIX + uuid.uuid4().hex[:12]


def stat_key(event):
    """(eventType, componentId, postId, keyword) as the statistics API counts it."""
    meta = event["metadata"]
    return (event["eventType"], meta["componentId"], meta.get("postId"), meta.get("keyword"))


class Tally:
    """What the server answered for the requests that carry events."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0           # events in requests started
        self.acked = 0          # events in 2xx answers
        self.rejected = 0       # events in answered non-2xx requests (not stored)
        self.unknown = 0        # events sent without an answer (stored or not: unknown)
        self.keys = Counter()   # acknowledged events by statistics key
        # Requests for which the server records an event of its own (like toggles: LIKE or
        # UNLIKE, searches: SEARCH), by kind: sent, answered 2xx, sent without an answer.
        self.server_events = {"sent": 0, "ok": Counter(), "refused": 0, "failed": 0}
        self.status = Counter()  # answers by "METHOD name status" for all requests

    def sending(self, count=1, server_event=False):
        with self.lock:
            if server_event:
                self.server_events["sent"] += 1
            else:
                self.sent += count

    def record(self, request_type, name, response, exception, context):
        status = getattr(response, "status_code", 0) or 0
        event = context.get("event") if context else None
        count = context.get("events", 1 if event else 0) if context else 0
        server_event = context.get("server_event") if context else None
        with self.lock:
            self.status[f"{request_type} {name} {status}"] += 1
            if server_event:
                # A non-2xx answer records nothing (503 EVENT_NOT_RECORDED: the toggle stands
                # without its event); no answer at all leaves it unknown.
                if 200 <= status < 300 and exception is None:
                    self.server_events["ok"][server_event] += 1
                elif status == 0:
                    self.server_events["failed"] += 1
                else:
                    self.server_events["refused"] += 1
            if not count:
                return
            if 200 <= status < 300 and exception is None:
                self.acked += count
                if event is not None:
                    self.keys[stat_key(event)] += 1
            elif status == 0:
                self.unknown += count
            else:
                self.rejected += count

    def as_json(self):
        with self.lock:
            # Requests started but never answered (cut off when Locust stopped) count as unknown.
            cut_off = self.sent - self.acked - self.rejected - self.unknown
            return {
                "run_id": RUN_ID,
                "session_prefix": SESSION_PREFIX,
                "sent": self.sent,
                "acked": self.acked,
                "rejected": self.rejected,
                "unknown": self.unknown + max(0, cut_off),
                "keys": [[*key, n] for key, n in sorted(self.keys.items(), key=str)],
                "server_events": {
                    "ok": dict(self.server_events["ok"]),
                    # sent without an answer (transport errors, or cut off when Locust stopped)
                    "unknown": self.server_events["sent"] - sum(self.server_events["ok"].values())
                    - self.server_events["refused"],
                },
                "answers": dict(sorted(self.status.items())),
            }


TALLY = Tally()


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, response=None, context=None,
                exception=None, **_):
    TALLY.record(request_type, name, response, exception, context or {})


@events.quitting.add_listener
def _write_tally(environment, **_):
    if TALLY_FILE:
        with open(TALLY_FILE, "w", encoding="utf-8") as out:
            json.dump(TALLY.as_json(), out, indent=1)


def mix_event(rng=random):
    """One event of the clients' event-mix scenario: CLICK / PAGE_VIEW / SEARCH / LIKE,
    users 1..100, components 1000..2000, elements element-1..50, keywords keyword-1..10,
    posts 1..10."""
    event_type = rng.choice(("CLICK", "PAGE_VIEW", "SEARCH", "LIKE"))
    metadata = {"componentId": rng.randint(1000, 2000), "elementId": f"element-{rng.randint(1, 50)}",
                "keyword": None, "postId": None}
    if event_type == "SEARCH":
        metadata["keyword"] = f"keyword-{rng.randint(1, 10)}"
    if event_type == "LIKE":
        metadata["postId"] = rng.randint(1, 10)
    return {"eventType": event_type, "userId": rng.randint(1, 100), "metadata": metadata}

# The run's API keys (bench/lib/stack.sh exports them; unset against a server with --auth=off).
WRITE_HEADERS = {"X-Api-Key": os.environ["TRACKER_WRITE_KEY"]} if os.environ.get("TRACKER_WRITE_KEY") else {}
READ_HEADERS = ({"Authorization": "Bearer " + os.environ["TRACKER_READ_KEY"]}
                if os.environ.get("TRACKER_READ_KEY") else {})
