"""The sync's change records keep a new account's password out of anything printed or logged."""

from sds_core.sync.model import DirectoryChange


def test_a_change_never_shows_its_password() -> None:
    change = DirectoryChange("user", "student:1", "id-1", "add", password="Pa55word!")
    assert "Pa55word!" not in repr(change) and "Pa55word!" not in str(change)
    assert change.password == "Pa55word!"
