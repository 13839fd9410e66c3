"""SDS_UPLOAD_HOSTS: host:port entries taken, malformed entries refused with a clear message."""

from __future__ import annotations

import pytest

from sds_app.settings import Settings, SettingsError, UploadHost, parse_upload_hosts


def test_default_is_none() -> None:
    assert Settings.from_env({}).upload_hosts == ()
    assert parse_upload_hosts(None) == parse_upload_hosts("  ") == ()


def test_entries() -> None:
    value = " 127.0.0.1:10004, [0:0::1]:80,LocalHost:1,Storage.Contoso.example:443"
    hosts = Settings.from_env({"SDS_UPLOAD_HOSTS": value}).upload_hosts
    assert hosts == (
        UploadHost("127.0.0.1", 10004),
        UploadHost("::1", 80),
        UploadHost("localhost", 1),
        UploadHost("storage.contoso.example", 443),
    )
    assert [h.loopback for h in hosts] == [True, True, True, False]
    assert [str(h) for h in hosts] == [
        "127.0.0.1:10004",
        "[::1]:80",
        "localhost:1",
        "storage.contoso.example:443",
    ]
    assert parse_upload_hosts("a.example:1,A.example:1") == (UploadHost("a.example", 1),)


@pytest.mark.parametrize(
    ("value", "entry"),
    [
        ("127.0.0.1", "127.0.0.1"),  # no port
        ("http://127.0.0.1:10004", "http://127.0.0.1:10004"),
        ("127.0.0.1:10004/devstoreaccount1", "127.0.0.1:10004/devstoreaccount1"),
        ("user@storage.example:443", "user@storage.example:443"),
        ("storage.example:0", "storage.example:0"),
        ("storage.example:65536", "storage.example:65536"),
        ("::1:10004", "::1:10004"),  # IPv6 needs brackets
        ("[::g]:1", "[::g]:1"),
        ("999.1.1.1:1", "999.1.1.1:1"),
        ("storage_example:1", "storage_example:1"),
        ("127.0.0.1:10004,", ""),
        ("127.0.0.1:10004;localhost:1", "127.0.0.1:10004;localhost:1"),
    ],
)
def test_malformed_entries_are_refused(value: str, entry: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SDS_UPLOAD_HOSTS": value})
    assert str(refused.value) == (
        f"SDS_UPLOAD_HOSTS={value!r} is not valid: {entry!r} is not host:port "
        "(e.g. 127.0.0.1:10004, [::1]:10004 or storage.contoso.example:443)"
    )
