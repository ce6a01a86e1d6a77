"""Rate limits on write routes (--rate-limit-ip, --rate-limit-key): 429 RATE_LIMITED with
Retry-After and RateLimit-* headers once a burst is spent, allowed again after Retry-After;
buckets per client address (IPv6 by /64) as told by X-Forwarded-For only from
--trusted-proxies; in Redis the limits hold across instances, in memory per instance; a
failing limit store lets requests through (fail open); per write key (the key the auth gate
authenticated).

Every test limits addresses of its own (X-Forwarded-For from the trusted loopback proxy, or
its own loopback source address), so that buckets left in the suite's Redis by one test
never meet another."""

import hashlib
import json
import random
import re
import socket
import subprocess
import time

import pytest

from redis_fault_proxy import RedisFaultProxy, error_reply
from support import (REPO_ROOT, SERVER_BIN, HTTP_TIMEOUT, LOOPBACK, STREAM, api, assert_error, key_headers,
                     post, read_response)

RATE_LIMIT_SCRIPT = REPO_ROOT / "src/redis/lua/rate_limit.lua"
STORES = ["redis", "memory"]


def unique_address():
    """An IPv6 address in a /64 no other test uses."""
    return f"2001:db8:{random.randrange(1 << 16):x}:{random.randrange(1 << 16):x}::{random.randrange(1, 1 << 16):x}"


def post_as(server, client, body):
    """A write from `client`, as the trusted proxy on 127.0.0.1 forwards it."""
    return api.post(server.url("/api/events"), json=body, headers={"X-Forwarded-For": client},
                    timeout=HTTP_TIMEOUT)


def post_from(source, server, body, forwarded=None):
    """A write sent from the loopback address `source` (an HTTP library cannot choose its
    source address), with the headers every request of the suite carries (support.api) and
    its write key."""
    data = json.dumps(body).encode()
    headers = {**api.headers, **key_headers("write")}
    headers.update({"Host": "e2e", "Content-Type": "application/json", "Content-Length": str(len(data)),
                    "Connection": "close"})
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    head = "POST /api/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(HTTP_TIMEOUT)
        sock.connect((LOOPBACK, server.port))
        sock.sendall(head.encode() + data)
        response, _ = read_response(sock)
        return response


def metric(server, name, labels=None):
    text = api.get(server.url("/metrics"), timeout=HTTP_TIMEOUT).text
    series = re.escape(name) + (r"\{%s\}" % re.escape(labels) if labels else "")
    match = re.search(r"^%s (\d+)$" % series, text, re.M)
    return int(match.group(1)) if match else 0


def assert_limited(response, limit, policy):
    assert_error(response, 429, "RATE_LIMITED", None)
    headers = response.headers
    retry_after = int(headers["Retry-After"])
    assert retry_after >= 1, headers
    assert headers["RateLimit-Limit"] == str(limit), headers
    assert headers["RateLimit-Remaining"] == "0", headers
    assert 1 <= int(headers["RateLimit-Reset"]) <= int(policy.split("=")[1]), headers
    assert headers["RateLimit-Policy"] == policy, headers
    return retry_after


@pytest.mark.parametrize("store", STORES)
def test_burst_then_429_with_headers_then_allowed_after_retry_after(start_server, redis_client, uniq, store):
    # One request per 2 s, 3 at once: an empty bucket fills in 6 s ("3;w=6"). The interval
    # is long enough for the numbers to be exact on a busy machine.
    server = start_server("--rate-limit-ip=0.5/3", "--rate-limit-headers=true", "--trusted-proxies=127.0.0.1",
                          f"--rate-limit-store={store}")
    client = unique_address()
    for remaining in (2, 1, 0):
        response = post_as(server, client, uniq.event("CLICK"))
        assert response.status_code == 202, response.text
        assert response.headers["RateLimit-Limit"] == "3", response.headers
        assert response.headers["RateLimit-Remaining"] == str(remaining), response.headers
        assert response.headers["RateLimit-Policy"] == "3;w=6", response.headers
    refused_session = uniq.session + "-refused"
    refused = post_as(server, client, uniq.event("CLICK", sessionId=refused_session))
    retry_after = assert_limited(refused, 3, "3;w=6")
    assert retry_after in (1, 2)  # one token back 2 s after the first request, rounded up
    assert metric(server, "tracker_rate_limited_total", 'reason="ip"') == 1
    # A refused event is not stored.
    newest = redis_client.xrevrange(STREAM, "+", "-", count=50)
    assert not any(refused_session in fields.get("rows", "") for _, fields in newest)
    # Reads are not limited.
    assert api.get(server.url("/health/ready"), timeout=HTTP_TIMEOUT).status_code == 200
    statistics = api.get(server.url(f"/api/statistics?eventType=CLICK&componentId=1"),
                         headers={"X-Forwarded-For": client}, timeout=HTTP_TIMEOUT)
    assert statistics.status_code != 429, statistics.text
    # Honouring Retry-After, the next one passes, and the one after that is refused again.
    time.sleep(retry_after)
    assert post_as(server, client, uniq.event("CLICK")).status_code == 202
    assert post_as(server, client, uniq.event("CLICK")).status_code in (202, 429)
    # Another client has a bucket of its own.
    assert post_as(server, unique_address(), uniq.event("CLICK")).status_code == 202


def test_limits_are_off_by_default(start_server, uniq):
    server = start_server()
    for _ in range(30):
        response = post(server, "/api/events", uniq.event("CLICK"))
        assert response.status_code == 202, response.text
        assert "RateLimit-Limit" not in response.headers


def test_allowed_answers_carry_no_headers_unless_asked(start_server, uniq):
    server = start_server("--rate-limit-ip=100/100", "--rate-limit-store=memory")
    response = post(server, "/api/events", uniq.event("CLICK"))
    assert response.status_code == 202
    assert "RateLimit-Limit" not in response.headers, response.headers


def test_in_redis_the_limit_holds_across_instances(start_server, uniq):
    flags = ("--rate-limit-ip=0.2/3", "--trusted-proxies=127.0.0.1", "--rate-limit-store=redis")
    first, second = start_server(*flags), start_server(*flags)
    client = unique_address()
    assert post_as(first, client, uniq.event("CLICK")).status_code == 202
    assert post_as(second, client, uniq.event("CLICK")).status_code == 202
    assert post_as(first, client, uniq.event("CLICK")).status_code == 202
    assert_limited(post_as(second, client, uniq.event("CLICK")), 3, "3;w=15")
    assert_limited(post_as(first, client, uniq.event("CLICK")), 3, "3;w=15")


def test_in_memory_the_limit_holds_per_instance(start_server, uniq):
    flags = ("--rate-limit-ip=0.2/2", "--trusted-proxies=127.0.0.1", "--rate-limit-store=memory")
    first, second = start_server(*flags), start_server(*flags)
    client = unique_address()
    for server in (first, second):
        assert post_as(server, client, uniq.event("CLICK")).status_code == 202
        assert post_as(server, client, uniq.event("CLICK")).status_code == 202
        assert_limited(post_as(server, client, uniq.event("CLICK")), 2, "2;w=10")


@pytest.mark.parametrize("store", STORES)
def test_forwarded_for_is_believed_only_from_trusted_proxies(start_server, uniq, store):
    server = start_server("--rate-limit-ip=0.2/2", "--trusted-proxies=127.0.0.1, 10.0.0.0/8",
                          f"--rate-limit-store={store}")
    client = f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"
    # The rightmost address that is not a trusted proxy is the client; what the client
    # itself put in front (a spoofed entry) does not give it a new bucket.
    assert post_as(server, client, uniq.event("CLICK")).status_code == 202
    assert post_as(server, f"6.6.6.6, {client}", uniq.event("CLICK")).status_code == 202
    assert_limited(post_as(server, f"7.7.7.7, {client}, 10.1.2.3", uniq.event("CLICK")), 2, "2;w=10")
    # IPv6 clients share a bucket per /64.
    prefix = f"2001:db8:{random.randrange(1 << 16):x}:{random.randrange(1 << 16):x}"
    assert post_as(server, f"{prefix}::1", uniq.event("CLICK")).status_code == 202
    assert post_as(server, f"[{prefix}:ffff:ffff:ffff:ffff]:443", uniq.event("CLICK")).status_code == 202
    assert_limited(post_as(server, f"{prefix}::2", uniq.event("CLICK")), 2, "2;w=10")
    # A peer that is not a trusted proxy is the client, whatever X-Forwarded-For it sends.
    source = f"127.{random.randrange(3, 250)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    for i in range(2):
        response = post_from(source, server, uniq.event("CLICK"), forwarded=f"203.0.113.{i + 1}")
        assert response.status == 202, response.body
    refused = post_from(source, server, uniq.event("CLICK"), forwarded="203.0.113.99")
    assert refused.status == 429, refused.body
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert refused.header("Retry-After").isdigit()


def test_a_failing_limit_store_lets_requests_through(start_server, redis_service, uniq):
    """Fail open: while Redis refuses the rate limit script (and only it), writes are not
    limited, counted in tracker_rate_limit_failures_total and logged; then limits are back."""
    proxy = RedisFaultProxy(redis_service.port)
    try:
        server = start_server(f"--redis-port={proxy.port}", "--rate-limit-ip=0.05/1", "--trusted-proxies=127.0.0.1")
        sha = hashlib.sha1(RATE_LIMIT_SCRIPT.read_bytes()).hexdigest()
        client = unique_address()
        assert post_as(server, client, uniq.event("CLICK")).status_code == 202
        assert post_as(server, client, uniq.event("CLICK")).status_code == 429
        proxy.inject(error_reply("BUSY Redis is busy running a script."), ["EVALSHA"], argument=sha)
        for _ in range(5):
            response = post_as(server, client, uniq.event("CLICK"))
            assert response.status_code == 202, response.text
        assert proxy.answered == 5
        assert metric(server, "tracker_rate_limit_failures_total") == 5
        assert "fail open" in server.log_text()
        proxy.clear()
        assert post_as(server, client, uniq.event("CLICK")).status_code == 429
    finally:
        proxy.close()


def test_bad_limit_options_are_refused_at_start():
    for flag in ("--rate-limit-ip=fast", "--rate-limit-key=10/0", "--rate-limit-store=disk",
                 "--trusted-proxies=10.0.0.0/33"):
        result = subprocess.run([SERVER_BIN, flag], capture_output=True, text=True, timeout=30,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 2, (flag, result.stderr)
        assert flag.split("=")[0] in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------
# Per write key
# ---------------------------------------------------------------------------------------

def keys_command(*args):
    return subprocess.run([SERVER_BIN, "keys", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def create_write_key(name):
    result = keys_command("create", "--scope=write", f"--name={name}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].strip()


@pytest.mark.parametrize("store", STORES)
def test_per_key_limit(start_server, uniq, store):
    shop, other = create_write_key(f"rl-shop-{uniq.token}-{store}"), create_write_key(f"rl-other-{uniq.token}-{store}")
    server = start_server("--rate-limit-key=0.2/2", "--rate-limit-ip=100/100", f"--rate-limit-store={store}")

    def send(key):
        return api.post(server.url("/api/events"), json=uniq.event("CLICK"), headers={"X-Api-Key": key},
                        timeout=HTTP_TIMEOUT)

    assert send(shop).status_code == 202
    assert send(shop).status_code == 202
    assert_limited(send(shop), 2, "2;w=10")
    assert metric(server, "tracker_rate_limited_total", 'reason="key"') == 1
    assert send(other).status_code == 202, "another key has a bucket of its own"
