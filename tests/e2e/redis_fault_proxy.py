"""A Redis in front of the real one that can be told to answer some commands itself, for
fault injection: LOADING while an AOF replays, BUSY, READONLY, NOSCRIPT, a number that is
not one... Everything else is passed through, one command at a time (pipelined commands
are answered in order, just not overlapped)."""

import socket
import threading
import time

from support import LOOPBACK


def error_reply(text):
    return b"-" + text.encode() + b"\r\n"


def bulk_reply(text):
    data = text.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def read_line(stream):
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise EOFError
    return line


def read_command(stream):
    """One RESP command (an array of bulk strings): (its raw bytes, its words)."""
    head = read_line(stream)
    if not head.startswith(b"*"):
        raise ValueError(f"not a RESP command: {head!r}")
    raw, words = [head], []
    for _ in range(int(head[1:])):
        size_line = read_line(stream)
        data = stream.read(int(size_line[1:]) + 2)
        raw += [size_line, data]
        words.append(data[:-2])
    return b"".join(raw), words


def read_reply(stream):
    """One RESP2 reply, raw."""
    line = read_line(stream)
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-", b":"):
        return line
    if kind == b"$":
        size = int(rest)
        return line if size < 0 else line + stream.read(size + 2)
    if kind == b"*":
        count = int(rest)
        return line + b"".join(read_reply(stream) for _ in range(max(count, 0)))
    raise ValueError(f"unexpected RESP reply: {line!r}")


class RedisFaultProxy:
    """Listens on a free loopback port and forwards to `upstream_port`. `inject(reply,
    commands)` makes it answer `reply` (raw RESP) to the named commands (all of them when
    none are named) until `clear()`, only to those whose first argument is `argument` when
    given (one script's SHA1 after EVALSHA); `answered` counts the commands it answered so.
    `slow(seconds, commands, argument)` holds such commands that long before passing them
    on (and every command after them on the same connection, as a busy link would)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.rule = None
        self.slow_rule = None
        self.answered = 0
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def inject(self, reply, commands=None, argument=None):
        with self.lock:
            self.rule = (reply, {c.upper() for c in commands} if commands else None,
                         argument.encode() if isinstance(argument, str) else argument)
            self.answered = 0

    def slow(self, seconds, commands=None, argument=None):
        with self.lock:
            self.slow_rule = (seconds, {c.upper() for c in commands} if commands else None,
                              argument.encode() if isinstance(argument, str) else argument)

    def clear(self):
        with self.lock:
            self.rule = None
            self.slow_rule = None

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    @staticmethod
    def _matches(words, commands, argument):
        if commands is not None and words[0].decode().upper() not in commands:
            return False
        return argument is None or (len(words) >= 2 and words[1] == argument)

    def _injected(self, words):
        with self.lock:
            if self.rule is None:
                return None
            reply, commands, argument = self.rule
            if not self._matches(words, commands, argument):
                return None
            self.answered += 1
            return reply

    def _delay(self, words):
        with self.lock:
            if self.slow_rule is None:
                return 0
            seconds, commands, argument = self.slow_rule
            return seconds if self._matches(words, commands, argument) else 0

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.create_connection((LOOPBACK, self.upstream_port))
        self.sockets += [client, upstream]
        from_client, from_upstream = client.makefile("rb"), upstream.makefile("rb")
        try:
            while True:
                raw, words = read_command(from_client)
                reply = self._injected(words)
                delay = self._delay(words)
                if delay:
                    time.sleep(delay)
                if reply is None:
                    upstream.sendall(raw)
                    reply = read_reply(from_upstream)
                client.sendall(reply)
        except (OSError, EOFError, ValueError):
            pass
        finally:
            client.close()
            upstream.close()
