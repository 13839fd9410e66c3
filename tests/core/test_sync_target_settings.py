"""SDS_SYNC_TARGET, SDS_GRAPH_ENDPOINT and SDS_GRAPH_AUTH: values taken, values refused."""

from __future__ import annotations

import pytest

from sds_app.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.sync_targets == {"directory"}
    assert (settings.to_directory, settings.to_school_data_sync) == (True, False)
    assert settings.graph_endpoint == "https://graph.microsoft.com"
    assert settings.graph_auth == "default"


@pytest.mark.parametrize(
    ("value", "targets"),
    [
        ("directory", {"directory"}),
        ("schoolDataSync", {"schoolDataSync"}),
        ("directory,schoolDataSync", {"directory", "schoolDataSync"}),
        (" SchoolDataSync , DIRECTORY ", {"directory", "schoolDataSync"}),
        ("", {"directory"}),
    ],
)
def test_sync_target_values(value: str, targets: set[str]) -> None:
    assert Settings.from_env({"SDS_SYNC_TARGET": value}).sync_targets == targets


@pytest.mark.parametrize(
    "value", ["both", "directory;schoolDataSync", "directory,", "sds", "directory,graph"]
)
def test_sync_target_refused(value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SDS_SYNC_TARGET": value})
    assert str(refused.value) == (
        f"SDS_SYNC_TARGET={value!r} is not valid: use directory, schoolDataSync or directory,schoolDataSync"
    )


def test_graph_settings() -> None:
    settings = Settings.from_env(
        {"SDS_GRAPH_ENDPOINT": "http://127.0.0.1:8080/", "SDS_GRAPH_AUTH": "None"}
    )
    assert (settings.graph_endpoint, settings.graph_auth) == ("http://127.0.0.1:8080", "none")
    with pytest.raises(SettingsError):
        Settings.from_env({"SDS_GRAPH_AUTH": "managedIdentity"})
    with pytest.raises(SettingsError):
        Settings.from_env({"SDS_GRAPH_ENDPOINT": "graph.microsoft.com"})
    with pytest.raises(SettingsError):
        Settings.from_env({"SDS_GRAPH_ENDPOINT": "https://graph.microsoft.com/beta"})
