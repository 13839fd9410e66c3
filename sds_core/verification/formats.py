"""Vectorised value rules: which values are missing, well-formed or fixable, column by column."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sds_core.verification.spec import Kind

_ENTRA_CHARS = r"A-Za-z0-9'._!#^~\-"
_PREFIX_CHARS = r"A-Za-z0-9'_!#^~\-"  # without the dot, which may only join runs of these
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
USERNAME_PREFIX_MAX = 64

# RE2 patterns (pyarrow); anchored, so surrounding spaces are invalid.
PATTERNS: dict[Kind, str] = {
    Kind.SIS_ID: r"^[A-Za-z0-9._-]{1,64}$",
    # No leading, trailing or double dot; the prefix's length is checked apart.
    Kind.USERNAME: rf"^[{_PREFIX_CHARS}]+(?:\.[{_PREFIX_CHARS}]+)*(?:@{_LABEL}(?:\.{_LABEL})+)?$",
    Kind.EMAIL: r"^[^\s@]+@[^\s@]+\.[^\s@]+$",
    # v2.1: "The username field requires the domain in order to be accepted by SDS".
    Kind.UPN: rf"^[{_PREFIX_CHARS}]+(?:\.[{_PREFIX_CHARS}]+)*@{_LABEL}(?:\.{_LABEL})+$",
    # v2.1 Unique ID ("case sensitive, as received"): no control character, no space at either end.
    Kind.UNIQUE_ID: r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$",
}
NAME_LIMITS: dict[Kind, int] = {Kind.SCHOOL_NAME: 256, Kind.PERSON_NAME: 64}
_CONTROL = r"[\x00-\x1f\x7f]"
# Characters the special-character option replaces with "_" (whitespace is never replaced).
_REPLACEABLE: dict[Kind, str] = {
    Kind.SIS_ID: r"[^A-Za-z0-9._\-\s]",
    Kind.USERNAME: rf"[^{_ENTRA_CHARS}@\s]",
}
Values = pa.Array | pa.ChunkedArray
# ISO 8601 as the new SDS reads dates: a calendar date, or a date and time with an optional offset.
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?"
                       r"(?:Z|[+-](\d{2}):?(\d{2}))?)?", re.ASCII)
BOOLEANS = pa.array(["true", "false"])
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(\d{4})(\d{2})(\d{2})|(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)


def missing(values: Values) -> np.ndarray:
    """Empty or whitespace-only values."""
    return (to_numpy(pc.binary_length(values)) == 0) | to_numpy(pc.utf8_is_space(values))


def to_numpy(values: Values) -> np.ndarray:
    """A pyarrow array (chunked or not) as one numpy array."""
    return values.to_numpy() if isinstance(values, pa.ChunkedArray) else values.to_numpy(zero_copy_only=False)


def take(values: Values, indices: np.ndarray) -> pa.Array:
    """The values at `indices`, chunk by chunk: Arrow's take on a chunked column copies every chunk."""
    indices = np.asarray(indices, dtype=np.int64)
    if isinstance(values, pa.Array):
        return values.take(pa.array(indices))
    chunks = values.chunks
    if len(chunks) == 1:
        return chunks[0].take(pa.array(indices))
    if len(indices) == 0:
        return pa.array([], values.type)
    starts = np.cumsum([0] + [len(c) for c in chunks[:-1]])
    which = np.searchsorted(starts, indices, side="right") - 1
    order = np.argsort(which, kind="stable")
    grouped = which[order]
    bounds = np.searchsorted(grouped, np.arange(len(chunks) + 1), side="left")
    parts = [chunks[k].take(pa.array(indices[order[bounds[k]:bounds[k + 1]]] - starts[k]))
             for k in range(len(chunks)) if bounds[k + 1] > bounds[k]]
    result = pa.concat_arrays(parts)
    if np.any(order[1:] < order[:-1]):  # the indices were not in chunk order: restore theirs
        result = result.take(pa.array(np.argsort(order)))
    return result


def line_break(values: Values) -> np.ndarray:
    """Values holding a CR or LF (only possible inside quotes)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    masks = [_line_break(chunk) for chunk in chunks]
    return np.concatenate(masks) if masks else np.zeros(0, dtype=bool)


def _line_break(chunk: pa.Array) -> np.ndarray:
    # A chunk's characters are scanned as bytes first: most chunks hold no line break at all.
    if chunk.type == pa.string() and len(chunk):
        _, offsets_buffer, data_buffer = chunk.buffers()
        if data_buffer is None:
            return np.zeros(len(chunk), dtype=bool)
        offsets = np.frombuffer(offsets_buffer, np.int32, len(chunk) + 1, 4 * chunk.offset)
        text = np.frombuffer(data_buffer, np.uint8)[offsets[0]:offsets[-1]]
        if not ((text == 10).any() or (text == 13).any()):
            return np.zeros(len(chunk), dtype=bool)
    return to_numpy(pc.match_substring_regex(chunk, r"[\r\n]"))


def well_formed(values: Values, kind: Kind, check_nul: bool) -> np.ndarray | None:
    """True where a value satisfies its kind's rule; None when the kind has no rule to check."""
    if kind is Kind.SIS_ID:
        # Most ids are letters and digits only: the regex runs on the others.
        quick = to_numpy(pc.ascii_is_alnum(values)) & (to_numpy(pc.binary_length(values)) <= 64)
        return _refine(values, quick, lambda rest: _matches(rest, PATTERNS[kind]))
    if kind is Kind.UNIQUE_ID:
        quick = to_numpy(pc.ascii_is_alnum(values))
        return _refine(values, quick, lambda rest: _matches(rest, PATTERNS[kind]))
    if kind is Kind.BOOLEAN:  # "Case insensitive | Match to 'true' or 'false'"
        return to_numpy(pc.is_in(pc.utf8_lower(values), value_set=BOOLEANS))
    if kind in (Kind.USERNAME, Kind.UPN):
        prefix = to_numpy(pc.find_substring(values, "@"))
        length = to_numpy(pc.binary_length(values))
        short = np.where(prefix >= 0, prefix, length) <= USERNAME_PREFIX_MAX
        return short & _matches(values, PATTERNS[kind])
    if kind is Kind.ISO_DATE:
        return _valid_dates(values, is_iso_date)
    if kind is Kind.YEAR:  # four ASCII digits
        return to_numpy(pc.ascii_is_decimal(values)) & (to_numpy(pc.binary_length(values)) == 4)
    if kind in PATTERNS:
        return _matches(values, PATTERNS[kind])
    if kind is Kind.DATE:
        return _valid_dates(values)
    if kind in NAME_LIMITS:
        short = to_numpy(pc.utf8_length(values)) <= NAME_LIMITS[kind]
        # Printable ASCII has no control character: the regex runs on the other values only.
        plain = to_numpy(pc.ascii_is_printable(values))
        return short & _refine(values, plain, lambda rest: ~_matches(rest, _CONTROL))
    if check_nul:
        return ~to_numpy(pc.match_substring(values, "\x00"))
    return None


def _matches(values: Values, pattern: str) -> np.ndarray:
    return to_numpy(pc.match_substring_regex(values, pattern))


def _refine(values: Values, quick: np.ndarray, slow: Callable[[Values], np.ndarray]) -> np.ndarray:
    """`quick` where it is true; `slow` decides the rest."""
    rest = np.flatnonzero(~quick)
    if len(rest):
        quick = quick.copy()
        quick[rest] = slow(take(values, rest))
    return quick


def replaceable(value: str, kind: Kind) -> list[str]:
    """The characters of one value that the special-character option replaces with "_"."""
    return re.findall(_REPLACEABLE[kind], value, flags=re.ASCII)  # RE2's \s is ASCII whitespace too


def fixable(values: Values, kind: Kind) -> np.ndarray:
    """True where replacing the unsupported characters with "_" makes a value well-formed."""
    replaced = pc.replace_substring_regex(values, _REPLACEABLE[kind], "_")
    return well_formed(replaced, kind, check_nul=False)


def is_date(text: str) -> bool:
    """YYYY-MM-DD, YYYYMMDD or M/D/YYYY, and a real calendar date."""
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    g = match.groups()
    year, month, day = (g[0], g[1], g[2]) if g[0] else (g[3], g[4], g[5]) if g[3] else (g[8], g[6], g[7])
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def is_iso_date(text: str) -> bool:
    """YYYY-MM-DD, optionally with a time (hh:mm, :ss, fraction) and Z or an offset; real values."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_hours, offset_minutes = match.groups()
    try:
        dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return False
    return int(offset_hours or 0) <= 23 and int(offset_minutes or 0) <= 59


def _valid_dates(values: Values, rule: Callable[[str], bool] = is_date) -> np.ndarray:
    # Date columns repeat few distinct values (terms, birthdays): check each distinct one once.
    distinct = pc.unique(values).to_pylist()
    valid = pa.array([v for v in distinct if rule(v)], pa.string())
    return to_numpy(pc.is_in(values, value_set=valid))


_SIS_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_USERNAME_CHARS = _SIS_ID_CHARS | frozenset("'!#^~")
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


def why_invalid(value: str, kind: Kind) -> str | None:
    """Which part of a kind's rule a value breaks, in words (for the detail's note); None when
    the value keeps the rule or the kind has none to explain. Per value: for the rows listed only."""
    if kind is Kind.PASSWORD:  # never a word about a password's characters beyond the one rule
        return "holds a NUL character" if "\x00" in value else None
    if kind in (Kind.SIS_ID, Kind.USERNAME, Kind.EMAIL, Kind.DATE, Kind.YEAR) and value != value.strip():
        return _surrounding_spaces(value)
    if kind is Kind.SIS_ID:
        return _sis_id_reason(value)
    if kind is Kind.USERNAME:
        return _username_reason(value)
    if kind is Kind.EMAIL:
        if re.fullmatch(PATTERNS[kind][1:-1], value, flags=re.ASCII):  # RE2's \s is ASCII whitespace
            return None
        return "an email is name@domain.tld, without spaces"
    if kind is Kind.DATE:
        if is_date(value):
            return None
        if _DATE.fullmatch(value):
            return "no such day in the calendar"
        return "a date is YYYY-MM-DD, YYYYMMDD or M/D/YYYY"
    if kind is Kind.YEAR:
        four_digits = len(value) == 4 and value.isascii() and value.isdecimal()
        return None if four_digits else "a year is four digits, such as 2031"
    if kind in NAME_LIMITS:
        if len(value) > NAME_LIMITS[kind]:
            return f"{len(value):,} characters: at most {NAME_LIMITS[kind]}"
        if re.search(_CONTROL, value):
            return f"{_named(re.search(_CONTROL, value).group())} is not allowed in a name"
    if "\x00" in value:
        return "holds a NUL character"
    return None


def _surrounding_spaces(value: str) -> str | None:
    """Where whitespace around a value is, in words: `a space at the end`, `2 tabs at the start`."""
    if not value.strip():
        return None
    lead, trail = value[: len(value) - len(value.lstrip())], value[len(value.rstrip()):]
    if lead and trail:
        return "spaces at the start and at the end"
    run = lead or trail
    kind = "space" if set(run) == {" "} else "tab" if set(run) == {"\t"} else "whitespace character"
    said = f"a {kind}" if len(run) == 1 else f"{len(run)} {kind}s"
    return f"{said} at the {'start' if lead else 'end'}"


def _named(char: str) -> str:
    """One character as a note quotes it (a space said in words)."""
    return "a space" if char == " " else f'"{char}"'


def _sis_id_reason(value: str) -> str | None:
    bad = next((c for c in value if c not in _SIS_ID_CHARS), None)
    if bad is not None:
        return f'{_named(bad)} is not allowed: a SIS ID has only ASCII letters, digits, ".", "_" and "-"'
    if len(value) > 64:
        return f"{len(value):,} characters: a SIS ID has at most 64"
    return None


def _username_reason(value: str) -> str | None:
    prefix, at, domain = value.partition("@")
    bad = next((c for c in prefix if c not in _USERNAME_CHARS), None)
    if bad is not None:
        where = " before the @" if at else ""
        return f"{_named(bad)} is not allowed{where}: a Username has only ASCII letters, digits and ' . - _ ! # ^ ~"
    if not prefix:
        return "nothing before the @"
    if prefix.startswith(".") or prefix.endswith(".") or ".." in prefix:
        return "a dot may not begin or end the name before the @, nor follow another dot"
    if len(prefix) > USERNAME_PREFIX_MAX:
        return f"{len(prefix):,} characters before the @: at most {USERNAME_PREFIX_MAX}"
    if at and not _DOMAIN.fullmatch(domain):
        return f'"{domain}" after the @ is not a domain name (such as contoso.edu)'
    return None
