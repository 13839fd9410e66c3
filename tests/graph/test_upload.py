"""Uploads to the upload session (sds_app/graph/upload.py) against the Gen2 stand-in and Azurite."""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from sds_app.graph.upload import (
    EXCEL_CSV,
    SessionFolder,
    SessionUrlRefused,
    UploadError,
    UploadFile,
    UploadHosts,
    UploadLimits,
    upload_files,
    upload_to,
)
from sds_app.settings import UploadHost, parse_upload_hosts
from tests.azurite import ACCOUNT, KEY, Azurite
from tests.fakegen2.server import FakeGen2, Fault
from tests.paths import SAMPLES

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CONNECTOR = "0b6dc8c4-4c59-4dc1-9d43-5ee6b0bb5a64"
CONTAINER = "40fe691e-a4b8-4b47-8c86-08daddab241e"
SAMPLE = SAMPLES / "sds-v1_25-users"
FAST = UploadLimits(retry_backoff_seconds=0.05)


def _hosts(fake: FakeGen2) -> UploadHosts:
    return UploadHosts.for_graph(fake.endpoint, parse_upload_hosts(fake.host))


def _session(fake: FakeGen2, **kwargs: object) -> str:
    return fake.new_session(TENANT, CONNECTOR, CONTAINER, **kwargs)  # type: ignore[arg-type]


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _file(name: str, data: bytes, piece: int = 1000) -> UploadFile:
    return UploadFile(name, len(data), lambda: iter(_pieces(data, piece)))


def _sig(url: str) -> str:
    found = re.search(r"sig=([^&]+)", url)
    assert found
    return found.group(1)


def test_six_sample_files_arrive_byte_for_byte(fake_gen2: FakeGen2) -> None:
    """Create, appends, flush per file at /{tenant}/{connector}/{container}/{exact name}."""
    originals = {p.name: p.read_bytes() for p in sorted(SAMPLE.glob("*.csv"))}
    assert len(originals) == 6
    url = _session(fake_gen2)
    files = [_file(name, data, piece=97) for name, data in originals.items()]

    upload_files(url, files, _hosts(fake_gen2), UploadLimits(chunk_bytes=512))

    assert fake_gen2.files(url) == originals
    assert fake_gen2.violations == []
    folder = f"/{TENANT}/{CONNECTOR}/{CONTAINER}/"
    for name, data in originals.items():
        calls = [r for r in fake_gen2.requests if r.path == folder + name]
        actions = [r.query.get("action") or r.query.get("resource") for r in calls]
        appends = -(-len(data) // 512)
        assert actions == ["file"] + ["append"] * appends + ["flush"]
        assert [int(r.query["position"]) for r in calls[1:]] == [
            *range(0, len(data), 512),
            len(data),
        ]
        assert calls[-1].headers["x-ms-content-type"] == EXCEL_CSV
        assert calls[-1].headers["if-match"]  # the create's ETag, as upload_data does
        assert [r.status for r in calls] == [201] + [202] * appends + [200]
    assert all("authorization" not in r.headers for r in fake_gen2.requests)
    assert all(r.headers.get("x-ms-version") for r in fake_gen2.requests)


def _vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_141_mb_file_is_streamed_in_bounded_memory(fake_gen2: FakeGen2) -> None:
    """The source is read one chunk at a time: the process's peak grows by chunks, not the file."""
    size = 141_000_000
    block = (b"st0000001,sch1,Student,Given,Family,9,student0000001@contoso.example\n" * 16000)[
        : 1 << 20
    ]

    def source() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            piece = block if size - sent >= len(block) else block[: size - sent]
            sent += len(piece)
            yield piece

    expected = hashlib.sha256()
    for piece in source():
        expected.update(piece)
    url = _session(fake_gen2, keep_bytes=False)
    upload_files(url, [], _hosts(fake_gen2))  # imports and first allocations out of the figure
    proc = Path("/proc/self/clear_refs")
    proc.write_text("5")  # VmHWM := VmRSS (Linux): the peak from here on
    before = _vm_hwm()
    tracemalloc.start()
    try:
        upload_files(url, [UploadFile("Student.csv", size, source)], _hosts(fake_gen2))
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    process_peak = _vm_hwm() - before

    assert fake_gen2.digests(url) == {"Student.csv": (size, expected.hexdigest())}
    assert fake_gen2.violations == []
    assert len(fake_gen2.calls("append")) == -(-size // (4 << 20))
    # The adapter holds at most two 4 MiB chunks (the one sent, the next one being cut), the
    # stand-in (in this process) a 1 MiB read; the whole file would be 141 MB.
    assert python_peak < 12 << 20
    assert process_peak < 40 << 20


def test_refused_session_urls_send_no_byte(fake_gen2: FakeGen2) -> None:
    """Every URL form outside the accepted hosts is refused before a connection is made."""
    good = _session(fake_gen2)
    port = fake_gen2.host.rsplit(":", 1)[1]
    sig = _sig(good)
    path_and_query = good.split(port, 1)[1]
    other_port = UploadHosts.for_graph(
        fake_gen2.endpoint, (UploadHost("127.0.0.1", int(port) + 1),)
    )
    cases: list[tuple[str, UploadHosts, str]] = [
        (f"http://localhost:{port}{path_and_query}", _hosts(fake_gen2), f"http://localhost:{port}"),
        (good, other_port, f"http://127.0.0.1:{port}"),  # a port not listed
        (good.replace("http://", "http://user:pw@"), _hosts(fake_gen2), "user information"),
        (good + "#frag", _hosts(fake_gen2), "fragment"),
        (good.split("?")[0], _hosts(fake_gen2), "shared access signature"),
        (good + "&redirect=http%3A%2F%2Fevil", _hosts(fake_gen2), "shared access signature"),
        (re.sub(r"&sig=[^&]+", "", good), _hosts(fake_gen2), "shared access signature"),
        (good.replace(f"/{TENANT}/", "/Not_A_FileSystem/"), _hosts(fake_gen2), "file system"),
        (good.replace(f"/{CONNECTOR}/", "/%2e%2e/"), _hosts(fake_gen2), "path"),
        (good.replace(f"/{CONNECTOR}/", "/a%2Fb/"), _hosts(fake_gen2), "path"),
        (good.replace(CONTAINER, "x y"), _hosts(fake_gen2), "spaces"),
        (f"http://127.0.0.2:{port}{path_and_query}", _hosts(fake_gen2), "127.0.0.2"),
        (f"ftp://127.0.0.1:{port}{path_and_query}", _hosts(fake_gen2), "ftp://"),
    ]
    for url, hosts, named in cases:
        with pytest.raises(SessionUrlRefused) as refused:
            upload_files(url, [_file("School.csv", b"SIS ID,Name\n1,A\n")], hosts)
        assert named in str(refused.value), url
        assert sig not in str(refused.value) and "pw" not in str(refused.value)
        assert (refused.value.status, refused.value.transient) == (None, False)
    assert (fake_gen2.connections, fake_gen2.requests) == (0, [])


PUBLIC = "https://graph.microsoft.com"


@pytest.mark.parametrize(
    ("graph", "url", "blob", "folder"),
    [
        (PUBLIC, "https://acct01.dfs.core.windows.net/{t}/c/k?sv=1&sig=s", False, "c/k"),
        (PUBLIC, "https://acct01.blob.core.windows.net/{t}/c/k?sv=1&sig=s", True, "c/k"),
        (
            "https://graph.microsoft.us",
            "https://acct01.dfs.core.usgovcloudapi.net/{t}/c?sig=s",
            False,
            "c",
        ),
        (
            "https://dod-graph.microsoft.us",
            "https://acct01.blob.core.usgovcloudapi.net/{t}?sig=s",
            True,
            "",
        ),
        (
            "https://microsoftgraph.chinacloudapi.cn",
            "https://acct01.dfs.core.chinacloudapi.cn/{t}/c?sig=s",
            False,
            "c",
        ),
        (
            "http://127.0.0.1:9999",
            "https://ACCT01.DFS.core.windows.net:443/{t}/c/k/?sig=s",
            False,
            "c/k",
        ),
    ],
)
def test_azure_storage_hosts_of_the_cloud(graph: str, url: str, blob: bool, folder: str) -> None:
    """https on *.dfs or *.blob of the Graph endpoint's cloud, port 443; the folder is the path."""
    session = UploadHosts.for_graph(graph).check(url.format(t=TENANT))
    assert (session.file_system, session.folder, session.blob) == (TENANT, folder, blob)
    assert session.path_of("School.csv") == f"{folder}/School.csv".lstrip("/")
    assert session.sas == url.split("?", 1)[1]


@pytest.mark.parametrize(
    ("graph", "url", "named"),
    [
        (
            PUBLIC,
            "https://acct01.dfs.core.usgovcloudapi.net/{t}/c?sig=s",
            "https://acct01.dfs.core.usgovcloudapi.net",
        ),
        (
            "https://graph.microsoft.us",
            "https://acct01.dfs.core.windows.net/{t}/c?sig=s",
            "https://acct01.dfs.core.windows.net",
        ),
        (PUBLIC, "http://acct01.dfs.core.windows.net/{t}/c?sig=s", "https on port 443"),
        (PUBLIC, "https://acct01.dfs.core.windows.net:8443/{t}/c?sig=s", "https on port 443"),
        (PUBLIC, "https://acct01.dfs.core.windows.net.evil.example/{t}?sig=s", "evil.example"),
        (
            PUBLIC,
            "https://evil.example/acct01.dfs.core.windows.net/{t}?sig=s",
            "https://evil.example",
        ),
        (PUBLIC, "https://acct01.file.core.windows.net/{t}/c?sig=s", "file.core"),
        (PUBLIC, "https://acct01.dfs.core.windows.net/?sig=s", "path"),
        (PUBLIC, "https://acct01.dfs.core.windows.net/{t}/c", "shared access signature"),
        (PUBLIC, "https://acct01.dfs.core.windows.net/{t}/c?sig=s&x=1", "shared access signature"),
    ],
)
def test_other_hosts_refused(graph: str, url: str, named: str) -> None:
    """Another cloud's storage, http, another port, look-alike hosts, no SAS: refused by name."""
    with pytest.raises(SessionUrlRefused) as refused:
        UploadHosts.for_graph(graph).check(url.format(t=TENANT))
    assert named in str(refused.value)
    assert "sig=s" not in str(refused.value)


def test_listed_hosts_take_https_and_loopback_http() -> None:
    """SDS_UPLOAD_HOSTS: https on a listed host:port; plain http only where it is loopback."""
    hosts = UploadHosts.for_graph(
        "https://graph.microsoft.com",
        parse_upload_hosts("storage.contoso.example:8443,[::1]:10004"),
    )
    listed = hosts.check(f"https://storage.contoso.example:8443/{TENANT}/c/k?sig=s")
    assert (listed.origin, listed.blob) == ("https://storage.contoso.example:8443", False)
    assert hosts.check(f"http://[0:0::1]:10004/{TENANT}/c?sig=s").folder == "c"
    with pytest.raises(SessionUrlRefused, match="takes https only"):
        hosts.check(f"http://storage.contoso.example:8443/{TENANT}/c/k?sig=s")
    with pytest.raises(SessionUrlRefused):
        hosts.check(f"https://storage.contoso.example/{TENANT}/c/k?sig=s")  # port 443: not listed


def test_file_names_must_be_plain(fake_gen2: FakeGen2) -> None:
    """A name with a path, a dot segment or control characters is refused before any byte."""
    url = _session(fake_gen2)
    for name in ["a/b.csv", "..", "a\\b.csv", "x\x00.csv", "", " School.csv", "..School.csv"]:
        with pytest.raises(UploadError) as refused:
            upload_files(url, [_file(name, b"x")], _hosts(fake_gen2))
        assert refused.value.code == "invalidFileName"
    with pytest.raises(UploadError) as twice:
        upload_files(url, [_file("A.csv", b"x"), _file("A.csv", b"y")], _hosts(fake_gen2))
    assert twice.value.code == "duplicateFileName"
    assert fake_gen2.connections == 0


def test_expired_sas_is_an_expired_error(fake_gen2: FakeGen2) -> None:
    """403 AuthenticationFailed: `expired`, not transient, no signature in the text."""
    url = _session(fake_gen2, ttl=timedelta(seconds=-1))
    with pytest.raises(UploadError) as refused:
        upload_files(url, [_file("School.csv", b"SIS ID,Name\n1,A\n")], _hosts(fake_gen2), FAST)
    error = refused.value
    assert (error.status, error.code, error.expired, error.transient) == (
        403,
        "AuthenticationFailed",
        True,
        False,
    )
    assert error.file == "School.csv"
    assert _sig(url) not in str(error)
    assert str(error).startswith(f"The upload of School.csv to {fake_gen2.endpoint} failed (403")
    assert len(fake_gen2.requests) == 1  # a 403 is not retried
    assert fake_gen2.files(url) == {}


def test_transient_failures_are_retried_then_succeed(fake_gen2: FakeGen2) -> None:
    """500 and 503 answers, and an answer slower than the read timeout, are tried again."""
    url = _session(fake_gen2)
    data = b"SIS ID,Name\n1,A\n"
    fake_gen2.faults += [
        Fault("create", status=500),
        Fault("append", status=503, times=2),
        Fault("flush", delay=1.0, status=500),  # answered after the client has given up on it
    ]
    limits = UploadLimits(read_seconds=0.4, retry_backoff_seconds=0.05)

    upload_files(url, [_file("School.csv", data)], _hosts(fake_gen2), limits)

    assert fake_gen2.files(url) == {"School.csv": data}
    calls = [(r.query.get("action") or "create", r.status) for r in fake_gen2.requests]
    assert calls[:5] == [
        ("create", 500),
        ("create", 201),
        ("append", 503),
        ("append", 503),
        ("append", 202),
    ]
    assert [action for action, _ in calls[5:]] == ["flush", "flush"]
    assert calls[6] == ("flush", 200)
    assert fake_gen2.violations == []


def test_a_stalled_answer_is_a_read_timeout_retried(fake_gen2: FakeGen2) -> None:
    """Headers, then a body that stops for longer than the read timeout: tried again, once."""
    url = _session(fake_gen2)
    fake_gen2.faults.append(Fault("create", trickle=2.0, body_bytes=5))
    limits = UploadLimits(read_seconds=0.3, retry_backoff_seconds=0.05)
    upload_files(url, [_file("School.csv", b"SIS ID\n1\n")], _hosts(fake_gen2), limits)
    assert fake_gen2.files(url) == {"School.csv": b"SIS ID\n1\n"}
    assert [r.query.get("action", "create") for r in fake_gen2.requests] == [
        "create",
        "create",
        "append",
        "flush",
    ]


def test_an_unreachable_host_is_transient_and_named_without_the_sas(fake_gen2: FakeGen2) -> None:
    """Nothing listens at the listed port: `unreachable` after the retries, the SAS not shown."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    url = _session(fake_gen2).replace(fake_gen2.host, f"127.0.0.1:{port}")
    hosts = UploadHosts.for_graph(fake_gen2.endpoint, (UploadHost("127.0.0.1", port),))
    with pytest.raises(UploadError) as failed:
        upload_files(url, [_file("School.csv", b"x")], hosts, FAST)
    assert str(failed.value) == (
        f"The upload of School.csv to http://127.0.0.1:{port} failed (unreachable): "
        "no connection could be made (3 retries)."
    )
    assert failed.value.transient
    assert UploadError(400, "X", f"echo of {url}").storage_message.count("sig=REDACTED") == 1


def test_retries_are_bounded_and_4xx_not_retried(fake_gen2: FakeGen2) -> None:
    """A 5xx that persists ends after 1 + retries attempts; a 400 after one, not transient."""
    url = _session(fake_gen2)
    fake_gen2.faults.append(Fault("create", status=500, times=99))
    with pytest.raises(UploadError) as failed:
        upload_files(url, [_file("School.csv", b"x")], _hosts(fake_gen2), FAST)
    assert (failed.value.status, failed.value.code, failed.value.transient) == (
        500,
        "InternalError",
        True,
    )
    assert len(fake_gen2.requests) == 1 + FAST.retries

    fake_gen2.faults[:] = [Fault("append", status=400, code="InvalidInput", times=99)]
    fake_gen2.requests.clear()
    with pytest.raises(UploadError) as refused:
        upload_files(url, [_file("School.csv", b"x")], _hosts(fake_gen2), FAST)
    assert (refused.value.status, refused.value.transient, refused.value.expired) == (
        400,
        False,
        False,
    )
    assert [r.status for r in fake_gen2.requests] == [201, 400]


def test_a_trickling_answer_ends_at_the_whole_upload_deadline(fake_gen2: FakeGen2) -> None:
    """A byte every 0.2 s passes every 1 s socket read; the 2 s deadline still ends the upload."""
    url = _session(fake_gen2)
    fake_gen2.faults.append(Fault("append", trickle=0.2, times=99))
    limits = UploadLimits(read_seconds=1.0, deadline_seconds=2.0, retry_backoff_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(UploadError) as late:
        upload_files(url, [_file("School.csv", b"SIS ID\n1\n")], _hosts(fake_gen2), limits)
    elapsed = time.monotonic() - started
    assert (late.value.code, late.value.transient, late.value.status) == (
        "deadlineExceeded",
        True,
        None,
    )
    assert 2.0 <= elapsed < 3.0
    assert fake_gen2.files(url) == {"School.csv": b""}  # created, never flushed


def test_a_source_that_does_not_match_its_size_is_never_flushed(fake_gen2: FakeGen2) -> None:
    """Short: every byte appended, no flush. Long: refused before the excess is sent."""
    url = _session(fake_gen2)
    short = UploadFile("Student.csv", 100, lambda: iter([b"x" * 90]))
    with pytest.raises(UploadError) as failed:
        upload_files(url, [short], _hosts(fake_gen2), UploadLimits(chunk_bytes=30))
    assert (failed.value.code, failed.value.file, failed.value.transient) == (
        "sizeMismatch",
        "Student.csv",
        False,
    )
    long = UploadFile("Teacher.csv", 10, lambda: iter([b"y" * 6, b"y" * 6]))
    with pytest.raises(UploadError, match="more than 10 bytes"):
        upload_files(url, [long], _hosts(fake_gen2), UploadLimits(chunk_bytes=4))
    assert fake_gen2.calls("flush") == []
    assert sum(r.body_bytes for r in fake_gen2.calls("append")) == 90 + 4  # Teacher: 4 of 10
    assert fake_gen2.files(url) == {"Student.csv": b"", "Teacher.csv": b""}


def test_a_failing_source_is_named(fake_gen2: FakeGen2) -> None:
    """The snapshot's reader failing is `sourceFailed` (transient), not a refusal of the session."""

    def broken() -> Iterator[bytes]:
        yield b"SIS ID\n"
        raise OSError("the snapshot went away")

    url = _session(fake_gen2)
    with pytest.raises(UploadError) as failed:
        upload_files(url, [UploadFile("School.csv", 20, broken)], _hosts(fake_gen2), FAST)
    assert (failed.value.code, failed.value.transient, failed.value.status) == (
        "sourceFailed",
        True,
        None,
    )
    assert "the snapshot went away" in str(failed.value)
    assert fake_gen2.calls("flush") == []


def test_answers_are_read_up_to_a_bound_and_redirects_not_followed(fake_gen2: FakeGen2) -> None:
    """A 10 MB error body is cut off at 64 KiB; a 307 ends the upload where it is."""
    url = _session(fake_gen2)
    fake_gen2.faults.append(Fault("append", status=400, body_bytes=10_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(UploadError) as big:
            upload_files(url, [_file("School.csv", b"x")], _hosts(fake_gen2), FAST)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (big.value.status, big.value.code) == (400, "answerTooLarge")
    assert peak < 4 << 20

    fake_gen2.faults.append(
        Fault("create", status=307, headers={"Location": f"{fake_gen2.endpoint}/elsewhere"})
    )
    fake_gen2.requests.clear()
    with pytest.raises(UploadError) as moved:
        upload_files(url, [_file("School.csv", b"x")], _hosts(fake_gen2), FAST)
    assert (moved.value.status, moved.value.transient) == (307, False)
    assert [r.path.rsplit("/", 1)[-1] for r in fake_gen2.requests] == ["School.csv"]


def test_blob_endpoints_get_block_blobs_streamed(azurite: Azurite) -> None:
    """*.blob.core.* sessions: Put Blob up to a chunk, else Put Block per chunk, Put Block List."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(TENANT)
    try:
        sas = generate_container_sas(
            ACCOUNT,
            TENANT,
            account_key=KEY,
            permission=ContainerSasPermissions(read=True, create=True, write=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
        # Azurite is IP-style: its account is the first path segment, which an Azure host has
        # in its name; the folder below is what a session URL's path would give.
        folder = SessionFolder(
            "http",
            f"127.0.0.1:{azurite.blob_port}/{ACCOUNT}",
            TENANT,
            f"{CONNECTOR}/{CONTAINER}",
            sas,
            blob=True,
        )
        small = b"SIS ID,Name\n1,A\n"
        large = bytes(range(256)) * 40_000  # 10 MB: three blocks of 4 MiB
        upload_to(folder, [_file("School.csv", small), _file("Student.csv", large, piece=1 << 20)])
        for name, data in (("School.csv", small), ("Student.csv", large)):
            blob = container.get_blob_client(f"{CONNECTOR}/{CONTAINER}/{name}")
            assert blob.download_blob().readall() == data
            assert blob.get_blob_properties().content_settings.content_type == EXCEL_CSV
        blocks = container.get_blob_client(f"{CONNECTOR}/{CONTAINER}/Student.csv").get_block_list()
        assert len(blocks[0]) == 3
    finally:
        container.delete_container()


def test_the_sas_is_in_no_log_line(fake_gen2: FakeGen2, caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG (azure-core's request log, urllib3's): the signature never appears."""
    caplog.set_level(logging.DEBUG)
    url = _session(fake_gen2)
    fake_gen2.faults.append(Fault("append", status=500))
    upload_files(url, [_file("School.csv", b"SIS ID\n1\n")], _hosts(fake_gen2), FAST)
    expired = _session(fake_gen2, ttl=timedelta(seconds=-1))
    with pytest.raises(UploadError):
        upload_files(expired, [_file("School.csv", b"x")], _hosts(fake_gen2), FAST)
    assert caplog.records  # the loggers did log the calls
    assert "School.csv" in caplog.text
    for sig in (_sig(url), _sig(expired)):
        assert sig not in caplog.text and unquote(sig) not in caplog.text
