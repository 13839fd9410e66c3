"""A classic client's run forwarded end to end, its files received through Data Lake Gen2."""

from __future__ import annotations

from typing import Any

import pytest

from sds_app import sync_run
from sds_app.settings import get_settings
from sds_app.storage.forwarding import TENANT_RUN
from sds_app.storage.profiles import STATE_CONTAINER
from tests.app.fixtures import AppEnv
from tests.app.flow import create_profile, deliver, start, status, upload_and_verify
from tests.core.builders import SAMPLES, sample_files
from tests.fakegraph.server import FakeIndustryData

GOOD = sample_files(SAMPLES / "sds-v1_25-users")
SIX = {name.lower(): data for name, data in GOOD.items()}  # the names the new SDS expects


@pytest.fixture
def sds(
    private_env: AppEnv, fake_graph: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> FakeIndustryData:
    """The new SDS as the only target; re-checks delivered at once; no tenant run yet."""
    monkeypatch.setenv("SDS_SYNC_TARGET", "schoolDataSync")
    get_settings.cache_clear()
    try:
        private_env.account.blobs.get_blob_client(STATE_CONTAINER, TENANT_RUN).delete_blob()
    except Exception:  # noqa: BLE001 - not there
        pass
    monkeypatch.setattr(sync_run, "_delay", lambda seconds: 0)
    fake_graph.start_running_polls = 0
    return fake_graph


def _run(env: AppEnv, pid: str, steps: int = 10) -> dict[str, Any]:
    """Deliver the profile's messages until its run ends; its profileStatus."""
    for _ in range(steps):
        seen = status(env, pid)
        if seen["status"] in ("success", "error"):
            return seen
        assert deliver(env, pid) == 1, seen
    return status(env, pid)


def test_a_classic_clients_run_ends_success_with_the_six_files_through_gen2(
    private_env: AppEnv, sds: FakeIndustryData
) -> None:
    """Create, upload through uploadUrl, start, poll (the classic API, unchanged): create,
    appends and flush at the session's folder, the bytes as verified, and no Put Blob."""
    pid = create_profile(private_env)
    upload_and_verify(private_env, pid, GOOD)
    assert start(private_env, pid).status == 200

    seen = _run(private_env, pid)

    assert seen["status"] == "success", seen
    ((connector, session),) = sds.sessions.items()
    assert sds.gen2.files(session["url"]) == SIX
    assert sds.uploads[0]["files"] == SIX  # what validate saw
    (run,) = sds.runs.values()
    assert run["files"] == {connector: SIX}
    assert sds.gen2.calls("putBlob") == []
    assert len(sds.gen2.calls("create")) == len(sds.gen2.calls("flush")) == 6
    assert sds.violations == []


def test_a_session_url_on_a_host_not_listed_ends_the_run_naming_it(
    private_env: AppEnv, sds: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SDS_UPLOAD_HOSTS without the stand-in: the run ends in error, no connection is made."""
    monkeypatch.setenv("SDS_UPLOAD_HOSTS", "storage.contoso.example:443")
    get_settings.cache_clear()
    pid = create_profile(private_env)
    upload_and_verify(private_env, pid, GOOD)
    assert start(private_env, pid).status == 200

    seen = _run(private_env, pid)

    assert seen["status"] == "error"
    assert seen["statusMessage"] == (
        f"The upload session URL {sds.gen2.endpoint} was refused: it is not on an Azure Storage "
        "host of this cloud (*.dfs.core.windows.net, *.blob.core.windows.net) nor on a host:port "
        "listed in SDS_UPLOAD_HOSTS; no file was sent."
    )
    assert (sds.gen2.connections, sds.gen2.requests) == (0, [])
    assert sds.calls("POST", r"/validate$") == [] and sds.violations == []
