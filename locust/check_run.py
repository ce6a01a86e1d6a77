#!/usr/bin/python3
"""Checks a load run's data: the events the server acknowledged (the run's tally) against
what PostgreSQL holds for the run and what the statistics API counts.

  check_run.py snapshot --base URL --scenario S --out before.json
      reads the statistics API for the scenario's probe keys before the run
  check_run.py verify --base URL --scenario S --tally tally.json --before before.json \
                      --since EPOCH_SECONDS [--flush-timeout 300]
      waits until /api/statistics/summary reports no pendingPersistence, counts the rows
      of `events` whose session_id starts with the run's prefix, reads the probe keys
      again and compares; prints PASS or FAIL lines and exits 0 or 1

The tally (JSON) has "session_prefix", "acked", "rejected", "unknown" and "keys":
[[eventType, componentId, postId, keyword, count], ...]; locust/tracker_load.py writes it
for Locust runs and bench/soak.sh builds it from the load generator's summary.
PostgreSQL is reached through TRACKER_PG_DSN.

  check_run.py server-latency --before m1.txt --after m2.txt
      the server's own view of the requests between two /metrics scrapes
      (tracker_http_request_duration_seconds): count, mean, and the histogram buckets
      holding p50 / p95 / p99 -- what the server spent, without the client's overhead
"""

import argparse
import json
import os
import sys
import time
import urllib.parse

import psycopg2
import requests

# The run's read key (bench/lib/stack.sh exports it).
READ_HEADERS = ({"Authorization": "Bearer " + os.environ["TRACKER_READ_KEY"]}
                if os.environ.get("TRACKER_READ_KEY") else {})
PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")


def probe_keys(scenario):
    """Statistics keys read before and after a run: (eventType, componentId, postId, keyword),
    None meaning any."""
    if scenario in ("users", "large"):
        return [("CLICK", 1002, None, None), ("PAGE_VIEW", 1000, None, None)]
    keys = []
    for comp in range(1000, 1010):
        keys += [("CLICK", comp, None, None), ("PAGE_VIEW", comp, None, None)]
    for comp in range(1000, 1005):
        keys += [("SEARCH", comp, None, f"keyword-{k}") for k in range(1, 11)]
        keys += [("LIKE", comp, p, None) for p in range(1, 11)]
    return keys


def key_name(key):
    event_type, comp, post, keyword = key
    name = f"{event_type} componentId={comp}"
    if post is not None:
        name += f" postId={post}"
    if keyword is not None:
        name += f" keyword={keyword}"
    return name


def read_count(session, base, key):
    event_type, comp, post, keyword = key
    params = {"eventType": event_type, "componentId": comp}
    if post is not None:
        params["postId"] = post
    if keyword is not None:
        params["keyword"] = keyword
    answer = session.get(f"{base}/api/statistics?{urllib.parse.urlencode(params)}", timeout=30)
    answer.raise_for_status()
    return int(answer.json()["count"])


def read_all(base, keys):
    session = requests.Session()
    session.headers.update(READ_HEADERS)
    return {key_name(key): read_count(session, base, key) for key in keys}


def tallied(tally, key):
    """Acknowledged events of the run that the statistics API counts under `key`."""
    event_type, comp, post, keyword = key
    total = 0
    for t_type, t_comp, t_post, t_keyword, n in tally["keys"]:
        if t_type != event_type or t_comp != comp:
            continue
        if post is not None and t_post != post:
            continue
        if keyword is not None and t_keyword != keyword:
            continue
        total += n
    return total


def wait_flushed(base, timeout):
    deadline = time.monotonic() + timeout
    pending = None
    while time.monotonic() < deadline:
        try:
            pending = requests.get(f"{base}/api/statistics/summary", headers=READ_HEADERS, timeout=10).json()["pendingPersistence"]
            if pending == 0:
                return 0
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.5)
    return pending


def pg_query(sql, params):
    with psycopg2.connect(PG_DSN, connect_timeout=10) as connection:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]


def pg_rows(sql, params=()):
    with psycopg2.connect(PG_DSN, connect_timeout=10) as connection:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def pg_run_rows(prefix, since):
    return pg_query("select count(*) from events where server_time >= to_timestamp(%s) "
                    "and left(session_id, %s) = %s", (since - 300, len(prefix), prefix))


def pg_foreign_rows(prefix, since, key):
    """Events of other clients with this key since the run began (they move the counts too)."""
    event_type, comp, post, keyword = key
    sql = ("select count(*) from events where server_time >= to_timestamp(%s) and event_type = %s "
           "and component_id = %s and left(session_id, %s) <> %s")
    params = [since - 60, event_type, comp, len(prefix), prefix]
    if post is not None:
        sql += " and post_id = %s"
        params.append(post)
    if keyword is not None:
        sql += " and keyword = %s"
        params.append(keyword)
    return pg_query(sql, params)


def verify(args):
    tally = json.load(open(args.tally, encoding="utf-8"))
    before = json.load(open(args.before, encoding="utf-8"))
    prefix = tally["session_prefix"]
    acked, rejected, unknown = tally["acked"], tally["rejected"], tally["unknown"]
    failures = []

    print(f"events acknowledged (2xx): {acked}   answered non-2xx: {rejected}   sent without an answer: {unknown}")
    if unknown:
        failures.append(f"{unknown} events were sent without an answer: their fate is unknown")

    pending = wait_flushed(args.base, args.flush_timeout)
    if pending != 0:
        failures.append(f"pendingPersistence still {pending} after {args.flush_timeout} s")
        print(f"FAIL backlog: pendingPersistence = {pending} after {args.flush_timeout} s")
    else:
        print("backlog: pendingPersistence = 0")

    rows = pg_run_rows(prefix, args.since)
    if rows == acked and not unknown:
        print(f"PASS PostgreSQL: {rows} rows in events with session_id '{prefix}*' = {acked} acknowledged")
    elif acked <= rows <= acked + unknown:
        print(f"FAIL PostgreSQL: {rows} rows, between {acked} acknowledged and {acked + unknown} sent")
    else:
        failures.append(f"PostgreSQL holds {rows} events of the run, the server acknowledged {acked}")
        print(f"FAIL PostgreSQL: {rows} rows in events with session_id '{prefix}*', acknowledged {acked}")

    server = tally.get("server_events")
    if server and args.fresh:
        # Like toggles and searches: the server records LIKE/UNLIKE and SEARCH events under
        # its own session id. The database is the run's own, so all of them are the run's.
        counts = dict(pg_rows("select event_type, count(*) from events where session_id = 'server' "
                              "group by event_type"))
        toggles, searches = server["ok"].get("LIKE", 0), server["ok"].get("SEARCH", 0)
        recorded = (counts.get("LIKE", 0) + counts.get("UNLIKE", 0), counts.get("SEARCH", 0))
        if recorded == (toggles, searches) and not server["unknown"]:
            print(f"PASS server events: {recorded[0]} LIKE/UNLIKE rows = {toggles} toggles answered 2xx, "
                  f"{recorded[1]} SEARCH rows = {searches} searches answered 2xx")
        else:
            failures.append(f"server events: LIKE/UNLIKE {recorded[0]} for {toggles} toggles, SEARCH {recorded[1]} "
                            f"for {searches} searches ({server['unknown']} unanswered)")
            print(f"FAIL server events: LIKE/UNLIKE rows {recorded[0]}, toggles answered 2xx {toggles}; SEARCH rows "
                  f"{recorded[1]}, searches answered 2xx {searches}; unanswered {server['unknown']}")

    keys = probe_keys(args.scenario)
    if args.fresh:
        # A database and Redis of the run's own: every key started at zero, so the keys the
        # run hit most can be checked too.
        top = sorted(tally["keys"], key=lambda k: -k[4])[:args.top_keys]
        keys += [tuple(k[:4]) for k in top if tuple(k[:4]) not in keys]
    after = read_all(args.base, keys)
    matched = disturbed = 0
    for key in keys:
        name = key_name(key)
        delta = after[name] - before.get(name, 0)
        want = tallied(tally, key)
        if delta == want:
            matched += 1
            continue
        foreign = pg_foreign_rows(prefix, args.since, key)
        if foreign:
            disturbed += 1
            print(f"WARN statistics {name}: +{delta}, run acknowledged {want}; "
                  f"{foreign} events of other clients share the key (not counted as a failure)")
        else:
            failures.append(f"statistics {name}: +{delta}, acknowledged {want}")
            print(f"FAIL statistics {name}: count went up by {delta}, the run acknowledged {want}")
    checked = sum(tallied(tally, key) for key in keys)
    verdict = "PASS" if matched == len(keys) else ("WARN" if matched + disturbed == len(keys) else "FAIL")
    print(f"{verdict} statistics API: {matched} of {len(keys)} keys went up by exactly the run's "
          f"acknowledged events ({checked} events under those keys)")

    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS: every acknowledged event is in PostgreSQL and counted by the statistics API")
    return 0


def histogram(path, name="tracker_http_request_duration_seconds"):
    buckets, total, count = {}, 0.0, 0
    for line in open(path, encoding="utf-8"):
        if line.startswith(name + "_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            count = int(float(line.rsplit(" ", 1)[1]))
    return buckets, total, count


def server_latency(args):
    b1, s1, c1 = histogram(args.before)
    b2, s2, c2 = histogram(args.after)
    count = c2 - c1
    if count <= 0:
        print("server-side latency: no requests between the scrapes")
        return 0
    def bound(q):
        for le in sorted(b2):
            if b2[le] - b1.get(le, 0) >= q * count:
                return "+Inf" if le == float("inf") else f"{le * 1000:g} ms"
        return "?"
    print(f"server-side latency of {count} requests: mean {(s2 - s1) / count * 1000:.2f} ms, "
          f"p50 <= {bound(0.5)}, p95 <= {bound(0.95)}, p99 <= {bound(0.99)} (histogram buckets)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("snapshot", "verify", "server-latency"))
    parser.add_argument("--base")
    parser.add_argument("--scenario")
    parser.add_argument("--out")
    parser.add_argument("--tally")
    parser.add_argument("--before")
    parser.add_argument("--after")
    parser.add_argument("--since", type=float)
    parser.add_argument("--flush-timeout", type=float, default=300)
    parser.add_argument("--fresh", action="store_true",
                        help="the server's Redis and database were new at the start of the run")
    parser.add_argument("--top-keys", type=int, default=20)
    args = parser.parse_args()
    if args.mode == "server-latency":
        return server_latency(args)
    if args.mode == "snapshot":
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump(read_all(args.base, probe_keys(args.scenario)), out)
        return 0
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
