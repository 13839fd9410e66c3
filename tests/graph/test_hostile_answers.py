"""Hostile or broken answers to Graph calls end as a GraphError, on time and in bounded memory.

One test per hostile answer of issue 21 item 5, each against tests/graph/hostile_server.py on
loopback: the error code, the seconds taken (within the call's deadline plus a margin) and, for
the bomb and the huge bodies, the peak memory of this process during the call (VmHWM, reset
before the call through /proc/self/clear_refs). A call that has not ended at its bound fails
the test (it runs in a thread), so a client that sleeps or hangs is reported, not waited for.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sds_app.graph import GraphError, IndustryDataClient
from sds_app.graph.errors import retry_after_seconds
from sds_app.graph.pipeline import GraphDeadline
from sds_app.graph.upload import UploadFile, UploadHosts, upload_files
from sds_app.settings import UploadHost
from tests.graph.hostile_server import (
    Answer,
    HostileServer,
    MiB,
    bomb,
    deep_json,
    full,
    gzipped,
    head,
    huge_string,
    raw,
    silence,
    trickled_body,
    trickled_head,
)
from tests.tls import loopback_certificate

GRAPH = "https://graph.microsoft.com"
DEADLINE = 3.0  # the call deadline of the tests' clients
MARGIN = 1.5  # seconds a refusal may take beyond its bound on a busy two-core host
MEMORY_MIB = 30  # peak growth allowed while a bomb or a huge body is refused
CONNECTOR = "/beta/external/industryData/dataConnectors/c1"
THROTTLED = json.dumps({"error": {"code": "TooManyRequests", "message": "Slow down."}}).encode()
CONNECTOR_BODY = json.dumps({"id": "c1", "displayName": "CSV connector"}).encode()


# -- measuring one call --------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


@dataclass
class Outcome:
    """What one call gave back: its value or its exception, seconds, peak memory growth."""

    value: Any
    error: BaseException | None
    seconds: float
    peak_mib: float

    def graph_error(self) -> GraphError:
        """The GraphError the call raised (anything else fails the test: a traceback)."""
        assert isinstance(self.error, GraphError), f"not a GraphError: {self.error!r}"
        return self.error


def measured(call: Callable[[], Any], bound: float) -> Outcome:
    """Run `call` in a thread for at most `bound` s: its outcome, seconds and peak growth."""
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux 4.0+)
    before = _status_kib("VmRSS")
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as error:  # noqa: BLE001 - a traceback is what the test reports
            box["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(bound)
    seconds = time.monotonic() - started
    peak = (_status_kib("VmHWM") - before) / 1024
    if worker.is_alive():
        pytest.fail(f"the call was still running after {bound:g} s")
    return Outcome(box.get("value"), box.get("error"), seconds, peak)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return loopback_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["http", "https"])
def any_scheme(
    request: pytest.FixtureRequest,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[HostileServer]:
    """The hostile server over plain HTTP, and over TLS (the watchdog shuts an SSL socket)."""
    tls = certificate if request.param == "https" else None
    if tls:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    server = HostileServer(tls=tls).start()
    try:
        yield server
    finally:
        server.stop()


def client_of(
    server: HostileServer, call_seconds: float = DEADLINE, max_wait: float = 30.0
) -> IndustryDataClient:
    """The production client with a short call deadline (60 s in production)."""
    return IndustryDataClient(
        server.endpoint, deadline=GraphDeadline(call_seconds=call_seconds), max_wait=max_wait
    )


def serve(server: HostileServer, *answers: Answer) -> None:
    server.script[:] = answers


def get_connector(server: HostileServer, **options: Any) -> Callable[[], Any]:
    client = client_of(server, **options)
    return lambda: client.get_connector("c1")


# -- Retry-After ---------------------------------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(moment: datetime, form: str) -> str:
    """`moment` in one of RFC 9110 5.6.7's three forms (built by hand: no locale)."""
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    clock = moment.strftime("%H:%M:%S")
    if form == "imf":
        return f"{day}, {moment.day:02d} {month} {moment.year} {clock} GMT"
    if form == "rfc850":
        long_day = _LONG_DAYS[moment.weekday()]
        return f"{long_day}, {moment.day:02d}-{month}-{moment.year % 100:02d} {clock} GMT"
    return f"{day} {month} {moment.day:2d} {clock} {moment.year}"


NOW = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("form", ["imf", "rfc850", "asctime"])
def test_retry_after_reads_the_three_http_date_forms(form: str) -> None:
    assert retry_after_seconds(http_date(NOW + timedelta(seconds=90), form), NOW) == 90.0
    assert retry_after_seconds(http_date(NOW - timedelta(days=3), form), NOW) == 0.0
    assert retry_after_seconds(http_date(NOW + timedelta(days=30), form), NOW) == 7 * 24 * 3600.0


def test_retry_after_examples_of_rfc_9110() -> None:
    now = datetime(1994, 11, 6, 8, 48, 37, tzinfo=UTC)
    assert retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", now) == 60.0
    assert retry_after_seconds("Sunday, 06-Nov-94 08:49:37 GMT", now) == 60.0
    assert retry_after_seconds("Sun Nov  6 08:49:37 1994", now) == 60.0
    assert retry_after_seconds("Fri, 31 Dec 1999 23:59:59 GMT", now) == 7 * 24 * 3600.0


def test_a_two_digit_year_over_50_years_ahead_is_the_century_before() -> None:
    # RFC 9110 5.6.7: "99" read in 2026 is 1999, not 2099; "27" is 2027.
    assert retry_after_seconds("Thursday, 31-Dec-99 23:59:59 GMT", NOW) == 0.0
    assert retry_after_seconds("Wednesday, 08-Dec-27 10:00:00 GMT", NOW) == 7 * 24 * 3600.0
    assert retry_after_seconds("Monday, 07-Dec-26 10:00:30 GMT", NOW) == 30.0


JUNK = [
    "inf",
    "-inf",
    "nan",
    "1e400",
    "1e3",
    "-5",
    "+5",
    "0x10",
    "5 s",
    "10, 20",
    "٥",
    "١٢٠",
    "\uff15",
    "5\u00a0",
    "99999999999999999999",
    "5" * 5000,
    "Wed, 31 Feb 2026 07:28:00 GMT",
    "Wed, 21 Oct 2026 07:28:00 PST",
    "wed, 21 oct 2026 07:28:00 gmt",
    "Wed, 21 Oct 2026 25:28:00 GMT",
    "Wed,  21 Oct 2026 07:28:00 GMT",
    "Wed, 21 Oct 2026 07:28:00 GMT trailing",
    "",
]


@pytest.mark.parametrize("value", JUNK)
def test_junk_retry_after_is_none(value: str) -> None:
    assert retry_after_seconds(value, NOW) is None


def test_a_retry_after_date_far_ahead_is_returned_in_seconds_not_slept(
    hostile: HostileServer,
) -> None:
    for form in ("imf", "rfc850", "asctime"):
        hostile.requests.clear()
        later = http_date(datetime.now(UTC) + timedelta(hours=2), form)
        serve(hostile, full(429, THROTTLED, {"Retry-After": later}))
        outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
        error = outcome.graph_error()
        assert (error.status, error.code, error.throttled) == (429, "TooManyRequests", True)
        assert 7190 <= error.retry_after <= 7200, form
        assert len(hostile.requests) == 1
        assert outcome.seconds < MARGIN


def test_a_retry_after_date_10_s_ahead_is_slept(hostile: HostileServer) -> None:
    soon = http_date(datetime.now(UTC) + timedelta(seconds=10), "imf")
    serve(hostile, full(429, THROTTLED, {"Retry-After": soon}), full(200, CONNECTOR_BODY))
    outcome = measured(get_connector(hostile, call_seconds=60), 10 + MARGIN + 1)
    assert outcome.error is None and outcome.value["id"] == "c1"
    assert [r.path for r in hostile.requests] == [CONNECTOR, CONNECTOR]
    waited = hostile.requests[1].at - hostile.requests[0].at
    assert 8 <= waited <= 10 + MARGIN and outcome.seconds <= 10 + MARGIN  # a date has whole seconds


HTTP_JUNK = [v for v in JUNK if v.isascii() and v] + ["\xb2\xb3", "5\xa0"]


@pytest.mark.parametrize("value", HTTP_JUNK, ids=lambda v: repr(v[:20]))
def test_a_junk_retry_after_is_no_wait(hostile: HostileServer, value: str) -> None:
    serve(hostile, full(429, THROTTLED, {"Retry-After": value}), full(200, CONNECTOR_BODY))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    assert outcome.error is None, repr(outcome.error)
    assert outcome.value["id"] == "c1" and len(hostile.requests) == 2  # retried at once
    assert outcome.seconds < MARGIN


def test_a_junk_retry_after_on_every_answer_ends_throttled_without_a_delay(
    hostile: HostileServer,
) -> None:
    serve(hostile, full(429, THROTTLED, {"Retry-After": "inf"}))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code, error.retry_after, error.throttled) == (
        429,
        "TooManyRequests",
        None,
        True,
    )
    assert len(hostile.requests) >= 2 and outcome.seconds <= DEADLINE + MARGIN


def test_the_sleeps_of_one_call_stay_within_the_in_process_cap(hostile: HostileServer) -> None:
    serve(hostile, full(429, THROTTLED, {"Retry-After": "2"}))
    outcome = measured(get_connector(hostile, call_seconds=60, max_wait=3), 6 + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.retry_after) == (429, 2.0)
    assert len(hostile.requests) == 2  # slept 2 s once; a second 2 s would make 4 > 3
    assert 1.9 <= outcome.seconds <= 2 + MARGIN


def test_a_retry_after_beyond_the_call_deadline_is_returned(hostile: HostileServer) -> None:
    serve(hostile, full(503, THROTTLED, {"Retry-After": "5"}))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.retry_after, error.throttled) == (503, 5.0, True)
    assert len(hostile.requests) == 1 and outcome.seconds < MARGIN


# -- bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(200, "responseTooLarge"), (400, "HTTP400")])
def test_a_gzip_bomb_is_refused_fast_in_bounded_memory(
    hostile: HostileServer, status: int, code: str
) -> None:
    serve(hostile, bomb(status))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code) == (status, code)
    if status == 200:
        assert error.message == (
            f"The answer of Microsoft Graph to GET {CONNECTOR} (200) was refused: the answer is "
            "larger than 4 MiB (after decompression)."
        )
    assert outcome.seconds < MARGIN and outcome.peak_mib < MEMORY_MIB, outcome


@pytest.mark.parametrize("size", [64 * MiB, 1 * MiB])
def test_a_huge_json_string_is_refused_in_bounded_memory(hostile: HostileServer, size: int) -> None:
    serve(hostile, huge_string(size))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    error = outcome.graph_error()
    reason = (
        "the answer is larger than 4 MiB (after decompression)"
        if size > 4 * MiB
        else "the answer has a string longer than 64 KiB"
    )
    assert (error.status, error.code, error.graph_message) == (200, "responseTooLarge", reason)
    assert outcome.seconds < MARGIN and outcome.peak_mib < MEMORY_MIB, outcome


def test_a_huge_error_body_is_cut(hostile: HostileServer) -> None:
    serve(hostile, huge_string(64 * MiB, status=400))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code) == (400, "HTTP400")
    assert error.graph_message == '{"value": "' + "x" * 109 + "..."
    assert outcome.seconds < MARGIN and outcome.peak_mib < MEMORY_MIB, outcome


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_deep_json_is_refused_without_recursion(hostile: HostileServer, encoding: str) -> None:
    body = deep_json(100_000)
    serve(hostile, full(200, body) if encoding == "identity" else gzipped(200, body))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code, error.graph_message) == (
        200,
        "responseTooDeep",
        "the answer's JSON is nested deeper than 32 levels",
    )
    assert outcome.seconds < MARGIN


def test_deep_json_in_an_error_answer_keeps_its_status(hostile: HostileServer) -> None:
    serve(hostile, full(400, b'{"error": ' + deep_json(60_000)))
    error = measured(get_connector(hostile), DEADLINE + MARGIN).graph_error()
    assert (error.status, error.code) == (400, "HTTP400")


def test_json_as_deep_as_the_limit_is_read(hostile: HostileServer) -> None:
    body = b'{"id": "c1", "x": ' + b"[" * 31 + b'"]]]"' + b"]" * 31 + b"}"
    serve(hostile, full(200, body))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    assert outcome.error is None and outcome.value["id"] == "c1"


def test_a_200_that_is_not_json_is_refused_with_an_escaped_snippet(
    hostile: HostileServer,
) -> None:
    serve(hostile, full(200, b"<html>\x1b[2J\r\nForged: log line" + b" x" * 5000))
    error = measured(get_connector(hostile), DEADLINE + MARGIN).graph_error()
    assert (error.status, error.code) == (200, "invalidResponse")
    snippet = "<html>\\x1b[2J\\r\\nForged: log line" + " x" * 46 + "..."
    assert error.message == (
        f"The answer of Microsoft Graph to GET {CONNECTOR} (200) was refused: the answer is not "
        f"JSON: '{snippet}'."
    )


def test_graph_s_own_error_text_is_escaped(hostile: HostileServer) -> None:
    envelope = {"error": {"code": "Bad\x1b[31m", "message": "No.\r\n2026-12-07 ERROR forged"}}
    serve(hostile, full(400, json.dumps(envelope).encode()))
    error = measured(get_connector(hostile), DEADLINE + MARGIN).graph_error()
    assert error.message == (
        f"Microsoft Graph refused GET {CONNECTOR} (400 Bad\\x1b[31m): No.\\r\\n2026-12-07 ERROR "
        "forged"
    )


# -- lengths and time ----------------------------------------------------------------------------


def test_a_content_length_longer_than_the_body_then_closed_is_incomplete(
    hostile: HostileServer,
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "1000"}
    serve(hostile, raw(head(200, headers) + CONNECTOR_BODY, then="close"))
    error = measured(get_connector(hostile), DEADLINE + MARGIN).graph_error()
    assert (error.status, error.code) == (None, "incompleteResponse")


def test_a_content_length_longer_than_the_body_then_silence_ends_at_the_deadline(
    hostile: HostileServer,
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "1000"}
    serve(hostile, raw(head(200, headers) + CONNECTOR_BODY, then="hold"))
    outcome = measured(get_connector(hostile), DEADLINE + MARGIN)
    assert outcome.graph_error().code == "timeout"
    assert DEADLINE - 0.2 <= outcome.seconds <= DEADLINE + MARGIN


def test_a_content_length_shorter_than_the_body_is_what_is_read(hostile: HostileServer) -> None:
    smuggled = head(200, {"Content-Length": "14"}) + b'{"id": "evil"}'
    lying = head(200, {"Content-Length": "11"}) + CONNECTOR_BODY + smuggled
    serve(hostile, raw(lying, then="keep"), full(200, b'{"id": "c2"}'))
    client = client_of(hostile)
    first = measured(lambda: client.get_connector("c1"), DEADLINE + MARGIN).graph_error()
    assert (first.status, first.code) == (200, "invalidResponse")
    assert first.graph_message == 'the answer is not JSON: \'{"id": "c1"\''
    second = measured(lambda: client.get_connector("c2"), DEADLINE + MARGIN)
    assert second.error is None and second.value == {"id": "c2"}  # not the leftover bytes


def _deadline_message(seconds: float = DEADLINE) -> str:
    return (
        f"Microsoft Graph did not answer GET {CONNECTOR} within the call's deadline of "
        f"{seconds:g} s."
    )


def test_a_body_at_one_byte_a_second_fails_at_the_deadline(any_scheme: HostileServer) -> None:
    serve(any_scheme, trickled_body(200, b'{"id": "' + b"x" * 100 + b'"}'))
    outcome = measured(get_connector(any_scheme), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code, error.message) == (None, "timeout", _deadline_message())
    assert DEADLINE - 0.2 <= outcome.seconds <= DEADLINE + MARGIN


def test_headers_at_one_byte_a_second_fail_at_the_deadline(any_scheme: HostileServer) -> None:
    serve(any_scheme, trickled_head(200, CONNECTOR_BODY))
    outcome = measured(get_connector(any_scheme), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code, error.message) == (None, "timeout", _deadline_message())
    assert DEADLINE - 0.2 <= outcome.seconds <= DEADLINE + MARGIN


def test_a_server_that_never_answers_fails_at_the_deadline(any_scheme: HostileServer) -> None:
    serve(any_scheme, silence())
    outcome = measured(get_connector(any_scheme), DEADLINE + MARGIN)
    error = outcome.graph_error()
    assert (error.status, error.code, error.message) == (None, "timeout", _deadline_message())
    assert DEADLINE - 0.2 <= outcome.seconds <= DEADLINE + MARGIN
    assert len(any_scheme.requests) == 1  # a timed-out call is not sent again


def test_a_read_timeout_shorter_than_the_deadline_names_itself(hostile: HostileServer) -> None:
    serve(hostile, silence())
    client = IndustryDataClient(
        hostile.endpoint, deadline=GraphDeadline(read_seconds=1, call_seconds=DEADLINE)
    )
    outcome = measured(lambda: client.get_connector("c1"), DEADLINE + MARGIN)
    assert outcome.graph_error().message == (
        f"Microsoft Graph did not answer GET {CONNECTOR}: nothing came for 1 s (the timeout of "
        "one connect or read)."
    )
    assert 0.9 <= outcome.seconds <= 1 + MARGIN


def test_an_upload_answer_is_bounded_too(hostile: HostileServer) -> None:
    """The upload session's storage is an outside answer as well (sds_app/graph/upload.py)."""
    serve(hostile, bomb(400))
    origin = urlsplit(hostile.endpoint)
    hosts = UploadHosts.for_graph(GRAPH, (UploadHost(origin.hostname or "", origin.port or 0),))
    school = UploadFile("school.csv", 2, lambda: iter([b"a\n"]))
    outcome = measured(
        lambda: upload_files(f"{hostile.endpoint}/files/container?sv=1&sig=x", [school], hosts),
        DEADLINE + MARGIN,
    )
    error = outcome.graph_error()
    assert error.status == 400
    assert outcome.seconds < MARGIN and outcome.peak_mib < MEMORY_MIB, outcome