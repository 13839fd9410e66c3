"""statusMessage is one inert line whoever writes it: built, copied, stored or served."""

from __future__ import annotations

import json

from sds_core.models.status import StatusFields, SyncStatus, status_view

GRAPH_MESSAGE = "Microsoft Graph refused POST /validate (400): bad file\nstatus: success\r\x1b[2K"
SHOWN = "Microsoft Graph refused POST /validate (400): bad file\\nstatus: success\\r\\x1b[2K"


def test_a_message_with_line_breaks_is_stored_and_served_on_one_line() -> None:
    fields = StatusFields(status=SyncStatus.ERROR, status_message=GRAPH_MESSAGE)
    assert fields.status_message == SHOWN
    stored = json.loads(fields.model_dump_json(by_alias=True))
    assert stored["statusMessage"] == SHOWN
    served = status_view("p-1", fields, 0, False).model_dump(mode="json")
    assert served["statusMessage"] == SHOWN


def test_a_copy_that_skips_validation_is_still_written_inert() -> None:
    # model_copy(update=...) does not validate: the serializer is the second gate.
    copied = StatusFields().model_copy(update={"status_message": GRAPH_MESSAGE})
    assert json.loads(copied.model_dump_json(by_alias=True))["statusMessage"] == SHOWN
    assert StatusFields.model_validate_json(copied.model_dump_json(by_alias=True)).status_message == SHOWN
    assert status_view("p-1", copied, 0, False).status_message == SHOWN


def test_plain_messages_are_unchanged() -> None:
    text = "Synchronized: 28 added, 0 updated, 0 deactivated, 0 removed, 0 not synced (see errors)."
    assert StatusFields(status_message=text).model_dump(by_alias=True)["statusMessage"] == text
