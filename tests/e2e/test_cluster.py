"""The server on a real Redis Cluster (3 masters and 3 replicas of this module's own, see
support.RedisCluster) with its data in 6 shards spread over the masters: ingestion,
statistics and the flush exact; two servers ingesting and flushing at once; slots moving
between masters (redis-cli --cluster reshard) while events arrive.

Every event here carries a client eventId and a batch answered 503 is sent again as it
was, as the JavaScript client does: a batch spanning shards is stored shard by shard, so a
retry must be able to count what was stored already once."""

import subprocess
import threading
import time
import uuid

import pytest

from support import RedisCluster, api, HTTP_TIMEOUT, post, wait_until
from test_flush import FLUSHER_ON, Workload, pg  # noqa: F401 (pg is a fixture)

SHARDS = 6


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    redis_cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    redis_cluster.start()
    try:
        yield redis_cluster
    finally:
        redis_cluster.stop()


def on_cluster(cluster, *flags):
    return (f"--redis-cluster={cluster.seeds()}", f"--redis-shards={SHARDS}", *flags)


class RetryingWorkload(Workload):
    """Workload's events with client eventIds; a batch answered 503 is sent again, the same,
    until it is accepted, so every event sent is acknowledged exactly once."""

    def __init__(self, uniq):
        super().__init__(uniq)
        self.retries = 0
        self.statuses = set()

    def send_batch(self, server, size, deadline_s=60):
        events = [dict(self.event(), eventId=str(uuid.uuid4())) for _ in range(size)]
        deadline = time.monotonic() + deadline_s
        while True:
            response = post(server, "/api/events/batch", {"events": events})
            self.statuses.add(response.status_code)
            if response.status_code == 202:
                break
            assert response.status_code == 503, response.text
            assert time.monotonic() < deadline, "ingestion did not come back"
            self.retries += 1
            time.sleep(0.05)
        answer = response.json()
        assert answer["accepted"] == size and not answer["rejected"], answer
        with self._lock:
            for event, event_id in zip(events, answer["eventIds"]):
                self.acked[(event["eventType"], event["metadata"]["componentId"])] += 1
                self.acked_ids.add(event_id)
        return events

    def send_again(self, server, events):
        """Events already acknowledged, sent again: every one must be a duplicate."""
        response = post(server, "/api/events/batch", {"events": events})
        assert response.status_code == 202, response.text
        assert response.json()["duplicates"] == len(events)


def count(server, query):
    response = api.get(server.url(f"/api/statistics?{query}"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["count"]


def assert_statistics_exact(server, work):
    for (event_type, comp), expected in work.acked.items():
        if event_type == "SEARCH":  # a SEARCH count names its keyword: the keywords add up
            counted = sum(count(server, f"eventType=SEARCH&componentId={comp}&keyword={keyword}")
                          for keyword in work.keywords)
        else:
            counted = count(server, f"eventType={event_type}&componentId={comp}")
        assert counted == expected, (event_type, comp)


def test_ingestion_statistics_and_flush_are_exact_on_a_cluster(cluster, start_server, uniq, pg):
    server = start_server(*on_cluster(cluster, *FLUSHER_ON))
    work = RetryingWorkload(uniq)
    sent = [work.send_batch(server, 50) for _ in range(20)]
    for events in sent[:5]:
        work.send_again(server, events)
    assert work.total() == 1000
    assert_statistics_exact(server, work)  # counted in Redis, flushing under way

    work.assert_exact_in_postgres(pg)
    assert_statistics_exact(server, work)  # and the same once in PostgreSQL
    # The shards live on more than one master: each master serving a shard's slot has keys.
    holders = {cluster.owner(cluster.key_slot(f"{{{shard}}}")) for shard in range(SHARDS)}
    assert len(holders) >= 2
    for port in holders:
        assert cluster.node(port).dbsize() > 0, port


def test_two_servers_ingest_and_flush_at_once(cluster, start_server, uniq, pg):
    first = start_server(*on_cluster(cluster, *FLUSHER_ON, "--flusher-shards=0,1,2"))
    second = start_server(*on_cluster(cluster, *FLUSHER_ON, "--flusher-shards=3,4,5"))
    work = RetryingWorkload(uniq)
    repeats = []

    def send(server, other):
        for _ in range(15):
            events = work.send_batch(server, 40)
            repeats.append((other, events))

    senders = [threading.Thread(target=send, args=pair) for pair in ((first, second), (second, first))]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=120)
    # Each batch sent again to the other server: a client eventId is found from any server.
    for server, events in repeats[:6]:
        work.send_again(server, events)
    assert work.total() == 1200
    assert_statistics_exact(first, work)
    assert_statistics_exact(second, work)
    work.assert_exact_in_postgres(pg)


def test_slots_move_between_masters_while_events_arrive(cluster, start_server, uniq, pg):
    server = start_server(*on_cluster(cluster, *FLUSHER_ON))
    work = RetryingWorkload(uniq)
    sending = threading.Event()
    sending.set()
    failures = []

    def keep_sending():
        try:
            while sending.is_set():
                work.send_batch(server, 25)
                time.sleep(0.01)  # a steady stream, not a flood: the move has keys to carry
        except Exception as error:  # reported below: an assertion in a thread is lost otherwise
            failures.append(error)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        wait_until(lambda: work.total() >= 500, 60, "events before the move")
        # Every slot of a master that serves a shard goes to another master, keys and all.
        nodes = cluster.nodes()
        source = cluster.owner(cluster.key_slot("{0}"))
        target = next(port for port in cluster.masters() if port != source)
        slots = 0
        for text in nodes[source][2]:
            if not text.startswith("["):
                low, _, high = text.partition("-")
                slots += int(high or low) - int(low) + 1
        moved = subprocess.run(
            ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{source}", "--cluster-from", nodes[source][0],
             "--cluster-to", nodes[target][0], "--cluster-slots", str(slots), "--cluster-yes"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert moved.returncode == 0, moved.stdout[-2000:] + moved.stderr
        assert cluster.owner(cluster.key_slot("{0}")) == target
        before = work.total()
        wait_until(lambda: work.total() >= before + 500, 60, "events after the move")
    finally:
        sending.clear()
        sender.join(timeout=120)
    assert not failures, failures
    print(f"reshard: {work.total()} events, {work.retries} batches sent again, statuses {work.statuses}")
    assert work.statuses <= {202, 503}
    assert_statistics_exact(server, work)
    work.assert_exact_in_postgres(pg)
