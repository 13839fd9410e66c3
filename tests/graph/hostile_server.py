"""A hostile stand-in for Graph on loopback: raw HTTP/1.1 answers no honest server would give.

Each answer is a function writing bytes to the socket, so the server can lie about lengths,
dribble headers or bodies a byte at a time, inflate a gzip bomb, or say nothing at all. The
answers are the ones issue 21 item 5 names (and that were tried by hand on the build before
it): Retry-After in every form RFC 9110 10.2.3 allows and in junk, a 500 KB gzip body inflating
to 512 MiB, Content-Length lies (RFC 9112 6.3 item 5: a body shorter than its Content-Length is
incomplete), 1 byte/s bodies and headers, silence, 100 000-deep JSON (RFC 8259 9: a parser may
limit nesting), huge strings and non-JSON. Bodies are generated piece by piece, so the server
itself adds at most a few MiB to the process that runs it.
"""

from __future__ import annotations

import gzip
import select
import socket
import socketserver
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

MiB = 1024 * 1024
BOMB_INFLATED = 512 * MiB

Answer = Callable[["Exchange"], bool]  # writes an answer; True keeps the connection open


@dataclass
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Exchange:
    """The connection an answer writes to, and the server's stop flag."""

    sock: socket.socket
    out: BinaryIO
    stopping: threading.Event

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.out.flush()

    def trickle(self, data: bytes, interval: float) -> None:
        """`data` a byte every `interval` seconds, until done, the client leaves or we stop."""
        for index in range(len(data)):
            if self.stopping.wait(0 if index == 0 else interval):
                return
            self.write(data[index : index + 1])

    def hold(self) -> None:
        """Say nothing until the client hangs up (or the server stops)."""
        while not self.stopping.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.1)
            if readable:
                try:
                    if not self.sock.recv(65536):
                        return
                except OSError:
                    return


def head(status: int, headers: dict[str, str] | None = None, reason: str = "X") -> bytes:
    """A status line and headers (and the blank line)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def full(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    """An honest answer: the body with its exact Content-Length."""
    fields = {"Content-Type": "application/json", **(headers or {})}
    fields["Content-Length"] = str(len(body))

    def answer(exchange: Exchange) -> bool:
        exchange.write(head(status, fields) + body)
        return True

    return answer


def raw(data: bytes, *, then: str = "close") -> Answer:
    """Exactly these bytes; then "close" the connection, "keep" it for the next request, or
    "hold" it open saying nothing more."""

    def answer(exchange: Exchange) -> bool:
        exchange.write(data)
        if then == "hold":
            exchange.hold()
        return then == "keep"

    return answer


def pieces(status: int, headers: dict[str, str], parts: Callable[[], Iterable[bytes]]) -> Answer:
    """A body written piece by piece as `parts()` makes it (the client may stop reading)."""

    def answer(exchange: Exchange) -> bool:
        exchange.write(head(status, headers))
        for part in parts():
            if exchange.stopping.is_set():
                return False
            exchange.write(part)
        return True

    return answer


def trickled_body(status: int, body: bytes, interval: float = 1.0) -> Answer:
    """Headers at once, then the body a byte every `interval` s (a 1 byte/s answer)."""
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body))}

    def answer(exchange: Exchange) -> bool:
        exchange.write(head(status, fields))
        exchange.trickle(body, interval)
        return False

    return answer


def trickled_head(status: int, body: bytes, interval: float = 1.0) -> Answer:
    """The status line and headers a byte every `interval` s (then the body)."""
    padding = {f"X-Slow-{i}": "x" * 20 for i in range(40)}
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body)), **padding}

    def answer(exchange: Exchange) -> bool:
        exchange.trickle(head(status, fields) + body, interval)
        return False

    return answer


def silence() -> Answer:
    """Accept, read the request, say nothing."""

    def answer(exchange: Exchange) -> bool:
        exchange.hold()
        return False

    return answer


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """512 MiB of JSON whitespace in about 500 KB of gzip: one member (RFC 1952), made quickly.

    After a full flush deflate starts afresh (RFC 1951 blocks, zlib's Z_FULL_FLUSH), so every
    MiB of spaces compresses to the same bytes: compressed once, repeated 510 times.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    prefix, block, suffix = b'{"value": [', b" " * MiB, b"]}"
    first = packer.compress(prefix + block) + packer.flush(zlib.Z_FULL_FLUSH)
    middle = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(block + suffix) + packer.flush()
    crc = zlib.crc32(prefix)
    for _ in range(BOMB_INFLATED // MiB):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + BOMB_INFLATED + len(suffix)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + first + middle * (BOMB_INFLATED // MiB - 2) + last + trailer


def bomb(status: int = 200) -> Answer:
    """The gzip bomb, honestly labelled (Content-Encoding: gzip, its Content-Length)."""
    body = gzip_bomb()
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Content-Length": str(len(body)),
    }
    return pieces(
        status, headers, lambda: (body[i : i + 65536] for i in range(0, len(body), 65536))
    )


def huge_string(size: int, status: int = 200) -> Answer:
    """`{"value": "xxxx..."}` with a string of `size` bytes, written 1 MiB at a time."""
    prefix, suffix = b'{"value": "', b'"}'
    total = len(prefix) + size + len(suffix)
    headers = {"Content-Type": "application/json", "Content-Length": str(total)}

    def parts() -> Iterator[bytes]:
        yield prefix
        block = b"x" * MiB
        for start in range(0, size, MiB):
            yield block[: min(MiB, size - start)]
        yield suffix

    return pieces(status, headers, parts)


def deep_json(depth: int) -> bytes:
    """`[[[...]]]` nested `depth` times."""
    return b"[" * depth + b"]" * depth


def gzipped(status: int, body: bytes) -> Answer:
    """An honest gzip answer."""
    packed = gzip.compress(body)
    return full(status, packed, {"Content-Encoding": "gzip"})


@dataclass
class HostileServer:
    """A loopback HTTP/1.1 server answering each request with the next scripted answer.

    The last answer repeats once the script is used up. `tls` serves HTTPS with the given
    (certificate, key) files.
    """

    script: list[Answer] = field(default_factory=list)
    tls: tuple[Path, Path] | None = None
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._served = 0
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._context = None
        if self.tls:
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._context.load_cert_chain(*self.tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> HostileServer:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; connections still open are dropped."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Answer:
        with self._lock:
            answer = self.script[min(self._served, len(self.script) - 1)]
            self._served += 1
            return answer

    def _serve(self, sock: socket.socket) -> None:
        if self._context is not None:
            try:
                sock = self._context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
        reader = sock.makefile("rb")
        exchange = Exchange(sock, sock.makefile("wb"), self._stopping)
        try:
            while not self._stopping.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                if not self._next()(exchange):
                    return
        except OSError:
            return  # the client hung up, as it should after a refusal
        finally:
            try:
                sock.close()
            except OSError:
                pass


def _read_request(reader: BinaryIO) -> Request | None:
    line = reader.readline(8192)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = reader.readline(8192)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body, time.monotonic())
