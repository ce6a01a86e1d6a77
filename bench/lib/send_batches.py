#!/usr/bin/python3
"""Sends exactly --events events to POST /api/events/batch and says what was sent.

A closed loop over --connections keep-alive connections (one thread each), bodies of
--batch events built before the clock starts: a pool of --pool distinct bodies sent
round-robin (event ids are made by the server, so repeats are new events). The events
carry the run's marker (sessionId "<prefix><n>") and components
--component-base .. --component-base + --components - 1 only, so the run's rows and
counters can be told apart from anything else in the database.

Mix, per body: CLICK, PAGE_VIEW, SEARCH, LIKE in turn (a quarter each); CLICK, PAGE_VIEW
and LIKE name one of --posts posts, SEARCH one of 50 keywords; users 1..1000.

--expected FILE receives the exact count of every counter the run adds to, one
"event_type<TAB>component_id<TAB>post_id<TAB>keyword<TAB>count" line per query shape of
event_totals (0 / '' = any, as in the table). Stdout: one JSON object with the wall-clock
start and end (Unix seconds), the events the server accepted and the failed requests.
"""
import argparse
import collections
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

TYPES = ("CLICK", "PAGE_VIEW", "SEARCH", "LIKE")


def event(k, args):
    etype = TYPES[k % 4]
    component = args.component_base + (k * 7919) % args.components
    post = None if etype == "SEARCH" else (k * 104729) % args.posts + 1
    keyword = f"keyword-{(k * 13) % 50 + 1}" if etype == "SEARCH" else None
    body = {
        "eventType": etype,
        "userId": (k * 31) % 1000 + 1,
        "sessionId": f"{args.session_prefix}{k % 5000}",
        "metadata": {"componentId": component, "elementId": f"element-{k % 50 + 1}",
                     "keyword": keyword, "postId": post, "page": f"/posts/{post or 0}"},
    }
    return body, (etype, component, post, keyword)


def shapes(etype, component, post, keyword):
    """The event_totals rows one event adds 1 to (see event_shapes() in the server)."""
    out = [(etype, 0, 0, ""), (etype, component, 0, "")]
    if post is not None:
        out.append((etype, component, post, ""))
    if keyword is not None:
        out.append((etype, component, 0, keyword))
        if post is not None:
            out.append((etype, component, post, keyword))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--pool", type=int, default=1000, help="distinct bodies")
    p.add_argument("--session-prefix", required=True)
    p.add_argument("--component-base", type=int, required=True)
    p.add_argument("--components", type=int, default=100)
    p.add_argument("--posts", type=int, default=10_000)
    p.add_argument("--expected", help="file for the exact per-shape counts")
    args = p.parse_args()
    if args.events % args.batch:
        sys.exit("--events must be a multiple of --batch")
    requests_total = args.events // args.batch

    pool, pool_shapes = [], []
    for b in range(min(args.pool, requests_total)):
        events, counted = [], collections.Counter()
        for j in range(args.batch):
            body, key = event(b * args.batch + j, args)
            events.append(body)
            counted.update(shapes(*key))
        pool.append(json.dumps({"events": events}, separators=(",", ":")).encode())
        pool_shapes.append(counted)

    url = urllib.parse.urlsplit(args.url)
    lock = threading.Lock()
    state = {"next": 0, "accepted": 0, "failed": 0, "errors": []}

    def take():
        with lock:
            if state["next"] >= requests_total:
                return None
            state["next"] += 1
            return state["next"] - 1

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        # The write key bench/lib/stack.sh makes; none with --auth=off.
        if os.environ.get("TRACKER_WRITE_KEY"):
            headers["X-Api-Key"] = os.environ["TRACKER_WRITE_KEY"]
        while (i := take()) is not None:
            body = pool[i % len(pool)]
            accepted, error = 0, None
            try:
                conn.request("POST", "/api/events/batch", body, headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status == 202:
                    accepted = json.loads(answer)["accepted"]
                else:
                    error = f"HTTP {response.status}: {answer[:200]!r}"
            except (OSError, http.client.HTTPException) as e:
                # Not retried: the server may have stored it. The run then reports a failure.
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                error = repr(e)
            with lock:
                state["accepted"] += accepted
                if accepted != args.batch:
                    state["failed"] += 1
                    if error and len(state["errors"]) < 5:
                        state["errors"].append(error)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = time.time()

    if args.expected:
        expected = collections.Counter()
        for b, counted in enumerate(pool_shapes):
            uses = len(range(b, requests_total, len(pool)))
            for key, n in counted.items():
                expected[key] += n * uses
        with open(args.expected, "w") as out:
            for (etype, component, post, keyword), n in sorted(expected.items()):
                out.write(f"{etype}\t{component}\t{post}\t{keyword}\t{n}\n")

    json.dump({"started": started, "ended": ended, "sent": args.events, "accepted": state["accepted"],
               "failed_requests": state["failed"], "errors": state["errors"]}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
