"""--redis-wait-replicas=1 on a real Redis Cluster (3 masters, 3 replicas, started here with
tools/dev.sh cluster-start under a temporary directory and stopped at the end): a master is
killed with SIGKILL while a client ingests events that carry client eventIds; its replica
takes over. The promoted replica has no replica of its own, so with WAIT 1 its shards
answer 503 NOT_REPLICATED until the killed node is started again and rejoins as its
replica (what a supervisor does). The client retries every 503 with the same eventId and
never sees a 500; ingestion comes back; afterwards every acknowledged event is in
PostgreSQL exactly once and the statistics count equals the number acknowledged.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import psycopg2
import pytest
import redis as redis_lib
import requests

from support import DEV_SH, HTTP_TIMEOUT, LOOPBACK, ServerFactory, api, post, wait_until

NODES = 6
# Seconds from the kill until an event whose shard lived on the killed master is
# acknowledged: the cluster notices in cluster-node-timeout (2 s) and promotes the replica.
RECOVERY_LIMIT = 15
RUN_AFTER_KILL = 6  # seconds of ingestion once the killed master's shards are back


def cluster_support():
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return "redis-server/redis-cli not installed"
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    version = out.split("v=")[1].split()[0] if "v=" in out else "0"
    if int(version.split(".")[0]) < 5:
        return f"redis-server {version} has no redis-cli --cluster create (needs 5 or later)"
    return None


def free_range(count):
    """A base port whose count ports and their bus ports (+10000) are free now."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            base = s.getsockname()[1]
        if base + count + 10000 > 65535:
            continue
        ports = [base + i for i in range(count)] + [base + 10000 + i for i in range(count)]
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind((LOOPBACK, port))
            return base
        except OSError:
            continue
    pytest.fail("no free range of ports for the cluster")


@pytest.fixture
def cluster(tmp_path):
    reason = cluster_support()
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, TRACKER_DATA_DIR=str(tmp_path / "data"),
               TRACKER_REDIS_CLUSTER_BASE_PORT=str(free_range(NODES)))

    def dev_sh(command):
        result = subprocess.run([str(DEV_SH), command], capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL, env=env)
        assert result.returncode == 0, f"tools/dev.sh {command} failed:\n{result.stderr}"
        return result.stdout

    dev_sh("cluster-start")
    try:
        base = int(env["TRACKER_REDIS_CLUSTER_BASE_PORT"])
        yield {"ports": [base + i for i in range(NODES)], "dir": tmp_path / "data" / "cluster"}
    finally:
        dev_sh("cluster-stop")


def cluster_nodes(port):
    """(port, role flags, master id or '-', node id) of each node, as `port` sees them."""
    text = redis_lib.Redis(host=LOOPBACK, port=port, socket_timeout=2).execute_command("CLUSTER NODES")
    if isinstance(text, bytes):
        text = text.decode()
    if isinstance(text, dict):  # redis-py may parse the reply already
        return [(int(address.split(":")[1].split("@")[0]), info["flags"], info.get("master_id", "-"),
                 info["node_id"]) for address, info in text.items()]
    nodes = []
    for line in text.strip().splitlines():
        fields = line.split()
        nodes.append((int(fields[1].split("@")[0].split(":")[1]), fields[2], fields[3], fields[0]))
    return nodes


class Client(threading.Thread):
    """Sends single events, each with its own client eventId, one after another; a 503 or a
    lost connection is retried with the same body until the event is acknowledged."""

    def __init__(self, server, session, comp):
        super().__init__(daemon=True)
        self.server = server
        self.session = session
        self.comp = comp
        self.stop = threading.Event()
        self.acknowledged = {}  # client eventId -> server event id
        self.first_attempt = {}  # client eventId -> monotonic time of its first attempt
        self.acknowledged_at = {}
        self.statuses = {}
        self.codes = {}  # error codes of the 503s
        self.failures = []
        self.user = 0

    def run(self):
        try:
            while not self.stop.is_set():
                self.user += 1
                client_id = str(uuid.uuid4())
                body = {"eventType": "CLICK", "sessionId": self.session, "userId": self.user, "eventId": client_id,
                        "metadata": {"componentId": self.comp, "clientEventId": client_id}}
                self.first_attempt[client_id] = time.monotonic()
                while True:
                    try:
                        response = post(self.server, "/api/events", body)
                        status = response.status_code
                    except requests.RequestException:
                        status = "connection"
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if status == 202:
                        self.acknowledged[client_id] = response.json()["eventId"]
                        self.acknowledged_at[client_id] = time.monotonic()
                        break
                    if status == 503:
                        code = response.json().get("error", {}).get("code")
                        self.codes[code] = self.codes.get(code, 0) + 1
                    if status not in (503, "connection"):
                        self.failures.append(f"{status}: {response.text}")
                        return
                    if self.stop.is_set() and time.monotonic() - self.first_attempt[client_id] > 30:
                        self.failures.append(f"event {client_id} never acknowledged")
                        return
                    time.sleep(0.05)
        except Exception as error:  # noqa: BLE001 -- reported by the test
            self.failures.append(repr(error))


def test_a_killed_master_loses_no_acknowledged_event(cluster, private_database, tmp_path):
    ports = cluster["ports"]
    masters = [port for port, flags, _, _ in cluster_nodes(ports[0]) if "master" in flags]
    seeds = ",".join(f"{LOOPBACK}:{port}" for port in masters)
    factory = ServerFactory(tmp_path, 1)  # --redis-port is not used with --redis-cluster
    try:
        server = factory(f"--redis-cluster={seeds}", "--redis-shards=6", "--redis-wait-replicas=1",
                         "--redis-wait-timeout-ms=500", "--flusher=true", "--flush-interval-ms=50",
                         "--statistics-cache-ms=0", f"--pg-dsn={private_database}", "--log-level=info")
        wait_until(lambda: api.get(server.url("/health/ready"), timeout=HTTP_TIMEOUT).status_code == 200, 20,
                   "the server to be ready on the cluster")
        session = f"e2e-failover-{uuid.uuid4().hex[:12]}"
        comp = int(uuid.uuid4().int % 10**12) + 1
        client = Client(server, session, comp)
        client.start()
        wait_until(lambda: len(client.acknowledged) >= 50 or client.failures, 20, "events acknowledged")

        victim = masters[0]
        replica = next(port for port, flags, master_id, _ in cluster_nodes(ports[0])
                       if master_id == next(node for p, _, _, node in cluster_nodes(ports[0]) if p == victim))
        pid = int((cluster["dir"] / str(victim) / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        wait_until(lambda: any(p == replica and "master" in flags for p, flags, _, _ in cluster_nodes(replica)),
                   RECOVERY_LIMIT, f"the replica {replica} to be promoted")
        # Back from its nodes.conf, the old master learns it lost its slots and becomes the
        # new master's replica, dropping whatever it had that was never replicated.
        subprocess.run(["redis-server", str(cluster["dir"] / str(victim) / "redis.conf")], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=30)
        time.sleep(RUN_AFTER_KILL)
        client.stop.set()
        client.join(timeout=60)
        assert not client.is_alive(), "the client did not finish"
        assert not client.failures, (client.failures, client.statuses, client.codes)
        assert 500 not in client.statuses, client.statuses

        # Every event the kill held up was acknowledged again within the limit.
        held_up = [cid for cid, start in client.first_attempt.items()
                   if cid in client.acknowledged_at and start <= killed_at + RECOVERY_LIMIT
                   and client.acknowledged_at[cid] > killed_at]
        slowest = max(client.acknowledged_at[cid] - max(client.first_attempt[cid], killed_at) for cid in held_up)
        assert slowest < RECOVERY_LIMIT, f"an event waited {slowest:.1f} s after the kill; {client.statuses} {client.codes}"
        assert client.statuses.get(503, 0) + client.statuses.get("connection", 0) > 0, \
            f"the kill went unnoticed, so this run tested nothing: {client.statuses}"

        print(f"statuses {client.statuses}, 503 codes {client.codes}, slowest recovery {slowest:.1f} s")
        acknowledged = len(client.acknowledged)
        wait_until(lambda: api.get(server.url("/api/statistics/summary"), timeout=HTTP_TIMEOUT)
                   .json()["pendingPersistence"] == 0, 30, "the flushers to move the events to PostgreSQL")
        pg = psycopg2.connect(private_database, connect_timeout=5)
        try:
            with pg.cursor() as cursor:
                cursor.execute("select id::text, metadata->>'clientEventId' from events where session_id = %s",
                               (session,))
                rows = cursor.fetchall()
        finally:
            pg.close()
        by_client = {}
        for server_id, client_id in rows:
            by_client.setdefault(client_id, []).append(server_id)
        doubled = {cid: ids for cid, ids in by_client.items() if len(ids) > 1}
        assert not doubled, f"events stored more than once: {list(doubled.items())[:5]}"
        lost = [cid for cid in client.acknowledged if cid not in by_client]
        assert not lost, f"{len(lost)} of {acknowledged} acknowledged events lost, e.g. {lost[:5]}"
        assert {cid: ids[0] for cid, ids in by_client.items()} == client.acknowledged
        assert len(rows) == acknowledged

        count = api.get(server.url("/api/statistics"), params={"eventType": "CLICK", "componentId": comp},
                        timeout=HTTP_TIMEOUT)
        assert count.status_code == 200, count.text
        assert count.json()["count"] == acknowledged
    finally:
        factory.stop_all()
