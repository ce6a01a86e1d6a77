"""API keys: `event-tracker keys create / list / revoke`; a write key on the write routes (in
X-Api-Key, in ?apiKey= as beacons send it, or as a Bearer token), a read key on statistics,
an admin key on DELETE /api/users/{userId}/events; 401 for missing, unknown and revoked keys
(a revocation is seen within 5 s), 403 for a key of another scope or from an origin its key
does not list; 503 KEYS_UNAVAILABLE while a server has never loaded its keys (PostgreSQL
down at start), and loaded keys that keep working while PostgreSQL is down; --auth=off."""

import os
import re
import socket
import subprocess
import threading
import time
import uuid

import pytest

from support import (HTTP_TIMEOUT, KEYS, LOOPBACK, SERVER_BIN, api, assert_error, free_port, key_headers,
                     wait_until)

PG_DSN = os.environ.get("TRACKER_PG_DSN", "host=127.0.0.1 port=55432 user=tracker dbname=tracker")
KEY = re.compile(r"^et[wra]_[0-9A-Za-z]{32}$")


def keys_command(*args, dsn=PG_DSN):
    return subprocess.run([SERVER_BIN, "keys", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, TRACKER_PG_DSN=dsn))


def create(scope, name, *extra):
    result = keys_command("create", f"--scope={scope}", f"--name={name}", *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert KEY.match(key), result.stdout
    return key


def listed(name):
    result = keys_command("list")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] == [name]]
    assert len(rows) == 1, result.stdout
    return rows[0], result.stdout


def name(what):
    return f"e2e-keys-{uuid.uuid4().hex[:8]}-{what}"


def send(server, key=None, header="X-Api-Key", origin=None, path="/api/events", uniq=None):
    headers = {header: key if header == "X-Api-Key" else f"Bearer {key}"} if key else {}
    if origin:
        headers["Origin"] = origin
    body = uniq.event("CLICK") if uniq else {"eventType": "CLICK", "userId": 1, "sessionId": "keys",
                                             "componentId": 1}
    return api.post(server.url(path), json=body, headers=headers, key=None, timeout=HTTP_TIMEOUT)


def statistics(server, key=None, header="Authorization"):
    headers = {}
    if key:
        headers = {"Authorization": f"Bearer {key}"} if header == "Authorization" else {"X-Api-Key": key}
    return api.get(server.url("/api/statistics/summary"), headers=headers, key=None, timeout=HTTP_TIMEOUT)


def assert_unauthenticated(response):
    assert_error(response, 401, "UNAUTHENTICATED", None)
    assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers


def metric(server, name, labels=None):
    text = api.get(server.url("/metrics"), timeout=HTTP_TIMEOUT).text
    series = re.escape(name) + (r"\{%s\}" % re.escape(labels) if labels else "")
    match = re.search(r"^%s (\d+)$" % series, text, re.M)
    return int(match.group(1)) if match else None


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory()


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------

def test_create_list_and_revoke_through_the_command():
    key_name = name("cli")
    result = keys_command("create", "--scope=write", f"--name={key_name}", "--origins=https://Shop.example")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert KEY.match(key) and key.startswith("etw_"), result.stdout
    row, text = listed(key_name)
    assert row[1:3] == ["write", key[:12]] and row[4] == "-" and row[5] == "https://shop.example", row
    assert key not in text and key[12:] not in text, "the key is shown once, at creation"

    again = keys_command("create", "--scope=read", f"--name={key_name}")
    assert again.returncode == 1 and "exists" in again.stderr, again.stderr

    revoked = keys_command("revoke", key[:12])
    assert revoked.returncode == 0 and key_name in revoked.stdout, revoked.stdout + revoked.stderr
    row, _ = listed(key_name)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", row[4]), row
    again = keys_command("revoke", key_name)
    assert again.returncode == 1 and "no active key" in again.stderr, again.stderr

    for scope in ("read", "admin"):
        assert create(scope, name(scope)).startswith({"read": "etr_", "admin": "eta_"}[scope])


@pytest.mark.parametrize("args", [
    ["create", "--scope=owner", "--name=x-1"],
    ["create", "--scope=write"],
    ["create", "--scope=write", "--name=has space"],
    ["create", "--scope=write", "--name=etw_lookalike"],
    ["create", "--scope=read", "--name=r-origins", "--origins=https://a.example"],
    ["create", "--scope=write", "--name=bad-origin", "--origins=shop.example/path"],
    ["revoke"],
    ["rotate"],
])
def test_bad_usage_is_exit_code_2(args):
    result = keys_command(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert "usage: event-tracker keys" in result.stderr


def test_an_unreachable_database_is_exit_code_1():
    result = keys_command("list", dsn=f"host=127.0.0.1 port={free_port()} user=tracker dbname=tracker")
    assert result.returncode == 1 and "database" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------
# Keys on routes
# ---------------------------------------------------------------------------------------

def test_a_write_key_in_the_header_the_query_or_as_bearer(server, uniq):
    key = KEYS["write"]
    assert send(server, key, uniq=uniq).status_code == 202
    assert send(server, key, header="Authorization", uniq=uniq).status_code == 202
    beacon = api.post(server.url(f"/api/events/batch?apiKey={key}"), key=None, timeout=HTTP_TIMEOUT,
                      data='{"events": [%s]}' % __import__("json").dumps(uniq.event("PAGE_VIEW")),
                      headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert beacon.status_code == 202, beacon.text
    post = api.post(server.url("/api/posts"), json={"userId": uniq.user(), "content": "keyed", "hashtags": []},
                    headers={"X-Api-Key": key}, key=None, timeout=HTTP_TIMEOUT)
    assert post.status_code == 201, post.text


def test_missing_malformed_and_unknown_keys_are_401(server, uniq):
    assert_unauthenticated(send(server, uniq=uniq))
    assert_unauthenticated(send(server, "not-a-key", uniq=uniq))
    assert_unauthenticated(send(server, "etw_" + "A" * 32, uniq=uniq))
    assert_unauthenticated(send(server, KEYS["write"][:-1], uniq=uniq))
    assert_unauthenticated(statistics(server))
    assert_unauthenticated(statistics(server, "etr_" + "b" * 32))
    # A read key is not taken from the query string: it would end up in logs.
    response = api.get(server.url(f"/api/statistics/summary?apiKey={KEYS['read']}"), key=None,
                       timeout=HTTP_TIMEOUT)
    assert_unauthenticated(response)


def test_read_key_on_statistics_and_scopes(server, uniq):
    assert statistics(server, KEYS["read"]).status_code == 200
    assert statistics(server, KEYS["read"], header="X-Api-Key").status_code == 200
    assert statistics(server, KEYS["admin"]).status_code == 200, "an admin key passes read routes"
    assert_error(statistics(server, KEYS["write"]), 403, "FORBIDDEN_SCOPE", None)
    assert_error(send(server, KEYS["read"], uniq=uniq), 403, "FORBIDDEN_SCOPE", None)
    assert send(server, KEYS["admin"], uniq=uniq).status_code == 202, "an admin key passes write routes"


def test_deleting_a_users_data_needs_an_admin_key(server, uniq):
    url = server.url(f"/api/users/{uniq.user()}/events")
    assert_unauthenticated(api.delete(url, key=None, timeout=HTTP_TIMEOUT))
    for scope in ("write", "read"):
        response = api.delete(url, headers=key_headers("admin", KEYS[scope]), key=None, timeout=HTTP_TIMEOUT)
        assert_error(response, 403, "FORBIDDEN_SCOPE", None)
    response = api.delete(url, headers={"Authorization": f"Bearer {KEYS['admin']}"}, key=None, timeout=60)
    assert response.status_code == 200, response.text


def test_open_routes_and_preflights_need_no_key(server):
    for path in ("/health/live", "/metrics", "/tracker.js", "/openapi.yaml"):
        assert api.get(server.url(path), key=None, timeout=HTTP_TIMEOUT).status_code == 200, path
    preflight = api.options(server.url("/api/events"), key=None, timeout=HTTP_TIMEOUT, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert preflight.status_code == 204, preflight.text


def test_a_key_with_origins_passes_only_from_them(server, uniq):
    key = create("write", name("origins"), "--origins=https://shop.example,http://localhost:3000")
    wait_until(lambda: send(server, key, origin="https://shop.example", uniq=uniq).status_code == 202, 5,
               "the new key to be loaded")
    assert send(server, key, origin="http://localhost:3000", uniq=uniq).status_code == 202
    response = send(server, key, origin="https://evil.example", uniq=uniq)
    assert_error(response, 403, "ORIGIN_NOT_ALLOWED", None)
    assert_error(send(server, key, uniq=uniq), 403, "ORIGIN_NOT_ALLOWED", None)
    # The query parameter of a beacon meets the same check.
    beacon = api.post(server.url(f"/api/events?apiKey={key}"), json=uniq.event("CLICK"), key=None,
                      headers={"Origin": "https://evil.example"}, timeout=HTTP_TIMEOUT)
    assert_error(beacon, 403, "ORIGIN_NOT_ALLOWED", None)


def test_a_revoked_key_is_refused_within_5_seconds(server, uniq):
    key = create("write", name("revoke"))
    wait_until(lambda: send(server, key, uniq=uniq).status_code == 202, 5, "the new key to be loaded")
    result = keys_command("revoke", key[:12])
    assert result.returncode == 0, result.stderr
    wait_until(lambda: send(server, key, uniq=uniq).status_code == 401, 5, "the revoked key to be refused")
    assert_unauthenticated(send(server, key, uniq=uniq))


def test_refusals_and_keys_are_counted(server, uniq):
    before = metric(server, "tracker_auth_refused_total", 'reason="unauthenticated"') or 0
    assert_unauthenticated(send(server, uniq=uniq))
    assert metric(server, "tracker_auth_refused_total", 'reason="unauthenticated"') == before + 1
    assert metric(server, "tracker_api_keys_active") >= 3
    assert metric(server, "tracker_api_keys_loaded_timestamp_seconds") > time.time() - 60


# ---------------------------------------------------------------------------------------
# PostgreSQL down
# ---------------------------------------------------------------------------------------

class Forwarder:
    """A TCP forwarder to PostgreSQL that a test can open and shut (shutting also cuts the
    connections through it), to take the database away from one server only."""

    def __init__(self, target_port, port=None):
        self.target_port = target_port
        self.port = port or free_port()
        self.listener = None
        self.connections = []
        self.lock = threading.Lock()

    def open(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((LOOPBACK, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def shut(self):
        if self.listener:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.connections:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.connections = []


def pg_port():
    match = re.search(r"\bport=(\d+)", PG_DSN)
    return int(match.group(1)) if match else 5432


def dsn_through(forwarder):
    parts = [p for p in PG_DSN.split() if not p.startswith(("host=", "port=", "hostaddr="))]
    return " ".join(parts + [f"host={LOOPBACK}", f"port={forwarder.port}"])


@pytest.fixture
def forwarder():
    forward = Forwarder(pg_port())
    yield forward
    forward.shut()


def test_503_until_keys_are_first_loaded(start_server, forwarder, uniq):
    server = start_server(f"--pg-dsn={dsn_through(forwarder)}", "--key-refresh-ms=200", "--pg-timeout-ms=1000")
    response = send(server, KEYS["write"], uniq=uniq)
    assert_error(response, 503, "KEYS_UNAVAILABLE", None)
    assert response.headers["Retry-After"] == "2"
    assert_error(statistics(server, KEYS["read"]), 503, "KEYS_UNAVAILABLE", None)
    assert api.get(server.url("/health/live"), timeout=HTTP_TIMEOUT).status_code == 200
    assert metric(server, "tracker_api_keys_refresh_failures_total") >= 1
    assert metric(server, "tracker_api_keys_loaded_timestamp_seconds") == 0
    forwarder.open()
    wait_until(lambda: send(server, KEYS["write"], uniq=uniq).status_code == 202, 10, "keys to be loaded")
    assert_unauthenticated(send(server, "etw_" + "C" * 32, uniq=uniq))


def test_loaded_keys_keep_working_while_postgresql_is_down(start_server, forwarder, uniq):
    forwarder.open()
    server = start_server(f"--pg-dsn={dsn_through(forwarder)}", "--key-refresh-ms=200", "--pg-timeout-ms=1000")
    assert send(server, KEYS["write"], uniq=uniq).status_code == 202
    failures = metric(server, "tracker_api_keys_refresh_failures_total")
    forwarder.shut()
    wait_until(lambda: metric(server, "tracker_api_keys_refresh_failures_total") >= failures + 3, 15,
               "key loads to fail")
    assert send(server, KEYS["write"], uniq=uniq).status_code == 202
    assert statistics(server, KEYS["read"]).status_code in (200, 503)  # statistics may need PostgreSQL
    assert_unauthenticated(send(server, "etw_" + "D" * 32, uniq=uniq))
    assert_error(send(server, KEYS["read"], uniq=uniq), 403, "FORBIDDEN_SCOPE", None)


# ---------------------------------------------------------------------------------------
# --auth=off
# ---------------------------------------------------------------------------------------

def test_auth_off_lets_everyone_in(start_server, uniq):
    server = start_server("--auth=off")
    assert send(server, uniq=uniq).status_code == 202
    assert statistics(server).status_code == 200
    assert send(server, "garbage", uniq=uniq).status_code == 202, "a key is not even looked at"
    assert metric(server, "tracker_api_keys_active") is None


def test_auth_takes_on_and_off_only():
    result = subprocess.run([SERVER_BIN, "--auth=maybe"], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "--auth" in result.stderr, result.stderr
