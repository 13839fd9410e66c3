"""Answers from Graph (or whatever answers in its place) read and parsed within fixed bounds.

A body is read from the socket in small pieces, decompressed here (never by urllib3) and
counted after decompression, so a gzip bomb costs the limit, not its inflated size; JSON is
scanned for nesting and string length before `json.loads` sees it, so a 100 000-deep array
costs one linear pass, not a RecursionError. Limits and reasons: docs/safety-limits.md.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a successful answer, after decompression
MAX_ERROR_BYTES = 64 * 1024  # an error answer is cut here (its status still counts)
MAX_DEPTH = 32  # JSON nesting: Graph's deepest documented answer has 5 levels
MAX_STRING_BYTES = 64 * 1024  # one JSON string (the limit of an Azure Table property)
MAX_CONTAINERS = 100_000  # objects and arrays in one answer (each costs ~60 bytes parsed)
READ_BYTES = 16 * 1024  # one socket read: the deadline is checked between reads
SNIPPET_CHARS = 120  # of an untrusted body quoted in a message


class AnswerRefused(Exception):
    """An answer outside the bounds: a Graph-style code and one sentence saying which bound."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class AnswerIncomplete(Exception):
    """The answer ended (or the connection broke) before its Content-Length or last chunk."""


def escaped(text: str) -> str:
    """`text` with control and other unprintable characters escaped (no forged log lines)."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def snippet(text: str | bytes, limit: int = SNIPPET_CHARS) -> str:
    """At most `limit` characters of untrusted text, escaped, with "..." when it was cut."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text[: limit * 4]).decode("utf-8", "replace")
    return escaped(text[:limit]) + ("..." if len(text) > limit else "")


# -- reading a body ------------------------------------------------------------------------------


class _Identity:
    def feed(self, data: bytes, room: int) -> bytes:
        return data

    def end(self) -> bytes:
        return b""


class _Inflate:
    """gzip or zlib-wrapped deflate, inflating at most `room` bytes per call (multi-member too)."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(wbits=32 + zlib.MAX_WBITS)  # gzip or zlib header
        self._pending = b""

    def feed(self, data: bytes, room: int) -> bytes:
        self._pending += data
        out = bytearray()
        while self._pending and len(out) < room:
            if self._inflater.eof:  # another gzip member follows (RFC 1952 2.2)
                self._inflater = zlib.decompressobj(wbits=32 + zlib.MAX_WBITS)
            try:
                out += self._inflater.decompress(self._pending, room - len(out))
            except zlib.error:
                raise AnswerRefused("invalidResponse", "the compressed answer is corrupt") from None
            self._pending = self._inflater.unconsumed_tail or self._inflater.unused_data
        return bytes(out)

    def end(self) -> bytes:
        if not self._inflater.eof:
            raise AnswerIncomplete("the compressed answer ends before its end")
        return b""


def _decoder(content_encoding: str | None) -> _Identity | _Inflate:
    coding = (content_encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip", "deflate"):
        return _Inflate()
    raise AnswerRefused(
        "invalidResponse", f"an unsupported Content-Encoding {snippet(coding, 40)!r}"
    )


def _declared_length(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,15}", text):
        raise AnswerRefused("invalidResponse", f"a Content-Length of {snippet(text, 40)!r}")
    return int(text)


@dataclass(frozen=True)
class Body:
    """A body read within its limit; `truncated` when an error answer was cut at its limit."""

    data: bytes
    truncated: bool = False


def read_body(
    read: Callable[[int], bytes],
    headers: Any,
    *,
    limit: int,
    truncate: bool,
    expired: Callable[[], bool],
    wire_bytes: Callable[[], int] | None = None,
) -> Body:
    """The decompressed body from `read(n)` (at most n bytes, b"" at the end), at most `limit`.

    Over the limit an answer is refused (`truncate` False) or cut (`truncate` True: an error
    answer, whose status says what happened). `expired()` is asked between reads; the reads
    themselves are bounded by the transport (socket timeouts and its watchdog).
    """
    decoder = _decoder(headers.get("Content-Encoding"))
    declared = (
        None
        if headers.get("Transfer-Encoding")
        else _declared_length(headers.get("Content-Length"))
    )
    if declared is not None and isinstance(decoder, _Identity) and declared > limit:
        if not truncate:
            raise _too_large(limit)
    out = bytearray()
    while True:
        if expired():
            raise TimeoutError("the call's deadline passed while its answer was read")
        chunk = read(READ_BYTES)
        if not chunk:
            break
        out += decoder.feed(chunk, limit + 1 - len(out))
        if len(out) > limit:
            if truncate:
                return Body(bytes(out[:limit]), truncated=True)
            raise _too_large(limit)
    out += decoder.end()
    if declared is not None and wire_bytes is not None and wire_bytes() != declared:
        raise AnswerIncomplete(f"the answer has {wire_bytes()} of its {declared} declared bytes")
    return Body(bytes(out))


def _too_large(limit: int) -> AnswerRefused:
    return AnswerRefused(
        "responseTooLarge", f"the answer is larger than {_size(limit)} (after decompression)"
    )


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count >= 1024 * 1024 else f"{count // 1024} KiB"


# -- parsing JSON --------------------------------------------------------------------------------

_STRING = re.compile(rb'"[^"]*"')  # after escapes are gone a string has no quote inside
_LONG_STRING = re.compile(rb'"[^"]{%d,}(?=")' % (MAX_STRING_BYTES + 1))
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_json_shape(data: bytes) -> None:
    """AnswerRefused when JSON text nests deeper than MAX_DEPTH, or has an overlong string.

    Linear and iterative: escaped backslashes and quotes are removed, then strings, leaving
    only the brackets, of which `MAX_DEPTH` passes remove every innermost pair; a pair or
    more than MAX_DEPTH unclosed brackets left means deeper nesting than `json.loads` may see.
    The scan matches `json`'s own reading up to the first byte it would refuse (RFC 8259:
    outside strings a backslash or stray quote is an error there), so nothing deeper than
    the scan saw can reach the parser.
    """
    text = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    for long in _LONG_STRING.finditer(text):
        if text.count(b'"', 0, long.start()) % 2 == 0:  # an opening quote, not a closing one
            raise AnswerRefused(
                "responseTooLarge", f"the answer has a string longer than {_size(MAX_STRING_BYTES)}"
            )
    brackets = _STRING.sub(b"", text).translate(_BRACKETS, _NOT_BRACKETS)
    containers = len(brackets) // 2
    for _ in range(MAX_DEPTH):
        if not brackets:
            break
        brackets = brackets.replace(b"()", b"")
    if b"()" in brackets or brackets.count(b"(") > MAX_DEPTH:
        raise AnswerRefused(
            "responseTooDeep", f"the answer's JSON is nested deeper than {MAX_DEPTH} levels"
        )
    if containers > MAX_CONTAINERS:
        raise AnswerRefused(
            "responseTooLarge", f"the answer has more than {MAX_CONTAINERS} objects and arrays"
        )


def parse_json(data: bytes) -> Any:
    """The JSON value of an answer (UTF-8, RFC 8259 8.1), within the depth and string bounds."""
    check_json_shape(data)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError (and int digits over 4300)
        raise AnswerRefused(
            "invalidResponse", f"the answer is not JSON: '{snippet(data)}'"
        ) from None


def monotonic_deadline(seconds: float) -> Callable[[], bool]:
    """A callable that turns true `seconds` from now (monotonic clock)."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end
