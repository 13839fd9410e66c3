"""sds_core.text.inert: outside text on one line, whatever it holds."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from sds_core.text import inert


def test_line_breaks_and_terminal_escapes_are_shown_not_obeyed() -> None:
    forged = "p-1\n2026-12-07 ERROR [request-id x] forged\r\x1b[2J\u2028\u202egnp.exe"
    assert inert(forged) == (
        "p-1\\n2026-12-07 ERROR [request-id x] forged\\r\\x1b[2J\\u2028\\u202egnp.exe"
    )


def test_plain_text_is_unchanged_and_escaping_twice_changes_nothing() -> None:
    text = "École Élémentaire – 5e année: C:\\exports\\school.csv"
    assert inert(text) == text
    assert inert(inert("a\nb")) == inert("a\nb") == "a\\nb"


def test_a_limit_cuts_between_escapes_and_says_so() -> None:
    assert inert("abcdef", 6) == "abcdef"
    assert inert("abcdefg", 6) == "abcde…"
    assert inert("abcd\nef", 6) == "abcd…"  # "\\n" would not fit whole


@given(st.text(), st.one_of(st.none(), st.integers(min_value=1, max_value=50)))
def test_the_result_has_no_control_character_and_respects_the_limit(text: str, limit: int | None) -> None:
    shown = inert(text, limit)
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in shown)
    assert limit is None or len(shown) <= limit
    assert inert(shown, limit) == shown or limit is not None
