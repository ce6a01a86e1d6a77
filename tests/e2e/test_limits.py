"""Limits on what clients may hold: the memory budget for request bodies in flight (503 when
it is spent) and the cap on connections per client address. Many loopback addresses
(127.0.0.0/8) stand in for many clients."""

import json
import re
import resource
import selectors
import socket
import subprocess
import time

import pytest

from support import (
    api, HTTP_TIMEOUT, LOOPBACK, SERVER_BIN, post, raw_connect, read_response,
                     wait_closed, watch_closes)

MIB = 1024 * 1024
RSS_BUDGET_MB = 150


def rss_mb(server, field="VmRSS"):
    """The server's resident memory (VmRSS) or its peak so far (VmHWM), in MB."""
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for the server")


def metric(server, name, labels):
    text = api.get(server.url("/metrics"), timeout=HTTP_TIMEOUT).text
    match = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(match.group(1)) if match else 0


def batch_head(length, chunked=False):
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % length
    return (b"POST /api/events/batch HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            + framing + b"\r\n\r\n")


def connect_from(address, server):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.settimeout(HTTP_TIMEOUT)
    sock.connect((LOOPBACK, server.port))
    return sock


def answers_live(server):
    return api.get(server.url("/health/live"), timeout=HTTP_TIMEOUT).status_code == 200


def accepts_event(server, uniq):
    return post(server, "/api/events", uniq.event("CLICK")).status_code == 202


# ---------------------------------------------------------------------------------------
# 10,000 connections sending 4 MiB bodies slowly
# ---------------------------------------------------------------------------------------

FLOOD = 10_000
PER_ADDRESS = 100  # connections per client address, below the default per-address cap
BODY = 4 * MIB
ROUNDS = 4
PIECE = 8 * 1024  # body bytes per connection and round: 320 MB in all if every one were read


def flood_address(i):
    """127.2.x.y: PER_ADDRESS connections per address, none of them 127.0.0.1."""
    n = i // PER_ADDRESS
    return f"127.2.{n // 250}.{n % 250 + 1}"


def open_flood(server, count):
    socks = []
    with selectors.DefaultSelector() as selector:
        for i in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.bind((flood_address(i), 0))
            sock.connect_ex((LOOPBACK, server.port))
            selector.register(sock, selectors.EVENT_WRITE)
            socks.append(sock)
        pending = count
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                selector.unregister(key.fileobj)
                pending -= 1
    assert pending == 0, f"{pending} connections not established"
    return socks


def send_to_all(socks, open_, data):
    """Sends `data` to the sockets still open; returns those the server has not closed."""
    still_open = []
    for i in open_:
        try:
            socks[i].send(data)
        except BlockingIOError:
            pass
        except OSError:
            continue
        still_open.append(i)
    return still_open


def collect_answers(socks, open_, received, wait):
    """Adds what the server sends within `wait` seconds to `received`; returns the sockets
    it has not closed."""
    closed_at, got = watch_closes([socks[i] for i in open_], wait)
    for i, data in zip(open_, got):
        received[i] += data
    return [i for i, closed in zip(open_, closed_at) if closed is None]


def flood_slowly(start_server, uniq, first, pieces):
    """FLOOD connections send `first`, then the `pieces` one by one, a second apart;
    meanwhile the server must stay under the RSS budget and keep answering /health/live and
    valid events from 127.0.0.1. Returns the server and the 503 answers the flood read."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FLOOD + 1000:
        pytest.skip(f"needs {FLOOD + 1000} open files, the hard limit is {hard}")
    # The server inherits the raised limit.
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, FLOOD + 1000), hard))
    # Room for the probes from 127.0.0.1 beside the 10,000 connections of the flood.
    server = start_server(f"--max-connections={FLOOD + 100}")
    socks = []
    try:
        socks = open_flood(server, FLOOD)
        received = [b""] * FLOOD
        open_ = send_to_all(socks, range(FLOOD), first)
        open_ = collect_answers(socks, open_, received, wait=3)
        for piece in pieces:
            open_ = send_to_all(socks, open_, piece)
            open_ = collect_answers(socks, open_, received, wait=1)
            assert answers_live(server)
            assert accepts_event(server, uniq)
            assert rss_mb(server) < RSS_BUDGET_MB
        peak = rss_mb(server, "VmHWM")
        refused = [r for r in received if r.startswith(b"HTTP/1.1 503")]
        print(f"peak RSS {peak:.1f} MB; {len(refused)} of {FLOOD} answered 503; "
              f"{len(open_)} still open")
        assert peak < RSS_BUDGET_MB
    finally:
        for sock in socks:
            sock.close()
    assert answers_live(server)
    return server, refused


def assert_overloaded(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nRetry-After: 1\r\n" in head
    assert json.loads(body)["error"]["code"] == "OVERLOADED"


def test_ten_thousand_slow_4_mib_bodies_stay_within_the_memory_budget(start_server, uniq):
    server, refused = flood_slowly(start_server, uniq, batch_head(BODY), [b" " * PIECE] * ROUNDS)
    # The budget refuses nearly all of them at once, before their bodies are read (a
    # refusal the client had not read before its next piece reset the connection is
    # counted but not seen here).
    assert metric(server, "tracker_http_requests_refused_total", 'reason="memory_budget"') > FLOOD * 0.9
    assert len(refused) > FLOOD / 2
    assert_overloaded(refused[0])


HEADER_LINE = b"X-Padding: " + b"p" * 2000 + b"\r\n"
HEADER_LINES = 6  # 12 KiB of header each, below the 16 KiB limit: 120 MB if all were held


def test_ten_thousand_slow_long_headers_stay_within_the_memory_budget(start_server, uniq):
    server, refused = flood_slowly(start_server, uniq, b"POST /api/events HTTP/1.1\r\nHost: e2e\r\n",
                                   [HEADER_LINE] * HEADER_LINES)
    # Headers past 4 KiB take 16 KiB of the budget each, until it is spent; the rest get
    # 503 (or, the first ones, meet the read timeout of 10 s).
    assert refused
    assert_overloaded(refused[0])
    assert metric(server, "tracker_http_requests_refused_total", 'reason="memory_budget"') >= len(refused)


# ---------------------------------------------------------------------------------------
# The budget answers 503 when it is spent
# ---------------------------------------------------------------------------------------

SMALL_BATCH_LIMIT = 64 * 1024
# The smallest budget the server takes with that limit: room for one largest request
# (its body and its JSON arena, three times the body) with as much left over.
SMALL_BUDGET = 2 * 3 * SMALL_BATCH_LIMIT


def test_request_over_the_budget_gets_503_until_the_budget_is_free(start_server, uniq):
    server = start_server(f"--batch-body-limit={SMALL_BATCH_LIMIT}",
                          f"--request-memory-budget={SMALL_BUDGET}")
    body = json.dumps({"events": [uniq.event("CLICK")] * 200}).encode().ljust(60_000)
    assert len(body) == 60_000
    holder = raw_connect(server)
    holder.sendall(batch_head(len(body)) + body[:100])  # holds three times 60,000 bytes
    time.sleep(0.2)

    late = raw_connect(server)
    late.sendall(batch_head(len(body)))
    answer, _ = read_response(late)
    assert answer.status == 503
    assert answer.header("Retry-After") == "1"
    assert answer.json()["error"]["code"] == "OVERLOADED"
    assert wait_closed(late, HTTP_TIMEOUT) is not None
    assert metric(server, "tracker_http_requests_refused_total", 'reason="memory_budget"') == 1

    # Small requests still find room beside the big one.
    assert accepts_event(server, uniq)
    assert answers_live(server)

    chunked = raw_connect(server)
    chunked.sendall(batch_head(0, chunked=True) + b"%x\r\n" % len(body) + body[:100])
    answer, _ = read_response(chunked)
    assert answer.status == 503
    assert answer.json()["error"]["code"] == "OVERLOADED"
    assert metric(server, "tracker_http_requests_refused_total", 'reason="memory_budget"') == 2

    holder.sendall(body[100:])
    answer, _ = read_response(holder)
    assert answer.status == 202, answer.body
    # Released with the answer (the moment after the client sees it): the same request
    # now passes.
    deadline = time.monotonic() + HTTP_TIMEOUT
    while True:
        again = raw_connect(server)
        again.sendall(batch_head(len(body)) + body)
        answer, _ = read_response(again)
        again.close()
        if answer.status != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert answer.status == 202, answer.body
    for sock in (holder, late, chunked):
        sock.close()


def test_header_longer_than_a_connection_holds_of_its_own_is_served(start_server, uniq):
    server = start_server()
    body = json.dumps(uniq.event("CLICK")).encode()
    head = (b"POST /api/events HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n" % len(body) + HEADER_LINE * 7 + b"\r\n")
    assert 12 * 1024 < len(head) < 16 * 1024
    sock = raw_connect(server)
    for _ in range(2):  # and once more on the same connection, its buffer given back between
        sock.sendall(head + body)
        answer, _ = read_response(sock)
        assert answer.status == 202, answer.body
    sock.close()


@pytest.mark.parametrize("flags, message", [
    (("--request-memory-budget=0",), "--request-memory-budget: expected 65536.."),
    (("--request-memory-budget=-1",), "--request-memory-budget: '-1' is not a valid number"),
    ((f"--batch-body-limit={SMALL_BATCH_LIMIT}", f"--request-memory-budget={SMALL_BUDGET - 1}"),
     f"--request-memory-budget: expected at least 6 x --batch-body-limit = {SMALL_BUDGET}"),
    (("--max-connections-per-ip=0",), "--max-connections-per-ip: expected 1..1000000, got 0"),
])
def test_bad_limits_are_refused_at_start(flags, message):
    result = subprocess.run([SERVER_BIN, *flags], capture_output=True, text=True, timeout=10,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


# ---------------------------------------------------------------------------------------
# Connections per client address
# ---------------------------------------------------------------------------------------

def test_connections_over_the_per_address_cap_are_refused(start_server, uniq):
    server = start_server("--max-connections-per-ip=3")
    request = b"GET /health/live HTTP/1.1\r\nHost: e2e\r\n\r\n"
    held = []
    for _ in range(3):
        sock = connect_from("127.0.0.9", server)
        sock.sendall(request)
        assert read_response(sock)[0].status == 200
        held.append(sock)

    over = connect_from("127.0.0.9", server)
    assert wait_closed(over, HTTP_TIMEOUT) is not None
    assert metric(server, "tracker_http_connections_refused_total", 'reason="per_ip"') == 1

    # Another address is not affected, and a closed connection frees its place.
    other = connect_from("127.0.0.10", server)
    other.sendall(request)
    assert read_response(other)[0].status == 200
    held.pop().close()
    deadline = time.monotonic() + HTTP_TIMEOUT
    while True:
        again = connect_from("127.0.0.9", server)
        again.sendall(request)
        try:
            assert read_response(again)[0].status == 200
            break
        except (ConnectionError, OSError):
            # The server may not have seen the close yet.
            again.close()
            assert time.monotonic() < deadline, "the closed connection's place was not freed"
            time.sleep(0.05)
    for sock in (*held, over, other, again):
        sock.close()
