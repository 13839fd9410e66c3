"""The verification report as one self-contained HTML page: details in, HTML text out.

Everything the page needs is inline (style, script, an SVG chart); the script and the style are
fixed texts allowed by their sha256 hashes, so the page works offline and under a strict
Content-Security-Policy, and no value from a file ever becomes markup: every text is escaped, and
invisible characters are shown as marks.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sds_core.verification.report import (
    SEVERITIES,
    Origin,
    described,
    invisible_spans,
    severity_counts,
    shown_as,
    shown_value,
    unlisted,
    visible,
    what_to_do,
)

STATES = ("done", "running", "notVerified")
_PLURAL = {"Error": "Errors", "Warning": "Warnings", "Information": "Information"}
VARIANTS = {
    "US": "US header names: SIS ID, School SIS ID, Section SIS ID, Zip",
    "UK": "UK header names: ID or DfE Number, School DfE Number, Section ID, Postal Code",
}
Fact = tuple[str, str] | tuple[str, str, str]
"""A fact above the verdict: name, value and, in words, what the value means."""


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


STYLE = _asset("page.css")
SCRIPT = _asset("page.js")
# The policy the page declares itself (a file opened from disk keeps it) ...
META_POLICY = (
    f"default-src 'none'; script-src {_source_hash(SCRIPT)}; style-src {_source_hash(STYLE)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
# ... and the one a server sends with it (frame-ancestors works only as a header).
CONTENT_SECURITY_POLICY = META_POLICY + "; frame-ancestors 'none'"


@dataclass(frozen=True)
class PageLimits:
    """What one page renders at most, so that any report stays a page a browser opens quickly."""

    rows_per_message: int = 1_000
    rows_per_page: int = 25_000
    messages_per_page: int = 2_000
    value_chars: int = 1_000
    chart_files: int = 20
    advice_items: int = 20


def render_page(
    details: Sequence[Mapping[str, Any]],
    files: Sequence[Mapping[str, Any]],
    *,
    title: str,
    facts: Iterable[Fact] = (),
    state: str = "done",
    limits: PageLimits = PageLimits(),
    origin: Origin = "upload",
    advice: str | None = None,
) -> str:
    """The whole page for a verification's details (`Message.to_json()` shapes) and file summaries
    (`fileName`, `uploadedName` or `name`, `variant`, `rows`, `size`). `origin` "folder" words it for
    a folder checked on disk (the command line); `advice` is what to do about that folder."""
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}")
    body = "\n".join([
        f"<h1>{_text(title)}</h1>",
        _facts(facts),
        _verdict(details, state, origin),
        _what_to_do(details, advice, limits) if state == "done" else "",
        _chart(details, limits),
        _files(files, origin),
        _messages(details, limits, origin),
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_attr(META_POLICY)}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n<link rel=\"icon\" href=\"data:,\">\n"
        f"<title>{_plain(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _text(value: object, limit: int | None = None) -> str:
    """Escaped text; invisible characters as marks; cut at `limit` characters with the true length."""
    text = "" if value is None else str(value)
    suffix = ""
    if limit is not None and len(text) > limit:
        suffix = f"… ({len(text):,} characters)"
        text = text[:limit]
    out = []
    for piece, invisible in invisible_spans(text):
        if invisible:
            out.append(f'<mark class="ctl" title="U+{ord(piece):04X}">{html.escape(shown_as(piece))}</mark>')
        else:
            out.append(html.escape(piece))
    return "".join(out) + html.escape(suffix)


def _value(value: str | None, limit: int) -> str:
    """A row's value; one made of spaces only says how many (a reader cannot see them)."""
    if value and value.strip(" ") == "":
        count = len(value)
        return f'<mark class="ctl" title="spaces only">({count} space{"" if count == 1 else "s"})</mark>'
    return _text(value, limit)


def _attr(value: object) -> str:
    """An attribute value: escaped, invisible characters written visibly."""
    return html.escape(visible(value))


def _plain(value: object, limit: int | None = None) -> str:
    """Text where no markup may go (title, option, SVG): escaped, invisible characters written visibly."""
    text = visible(value)
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    return html.escape(text)


def _facts(facts: Iterable[Fact]) -> str:
    items = []
    for name, value, *meaning in facts:
        explained = "".join(f' <span class="explain">({_text(m)})</span>' for m in meaning if m)
        items.append(f"<div><dt>{_text(name)}</dt><dd>{_text(value)}{explained}</dd></div>")
    return f'<dl class="facts">{"".join(items)}</dl>' if items else ""


def _what_to_do(details: Sequence[Mapping[str, Any]], advice: str | None, limits: PageLimits) -> str:
    """The notes that name causes and fixes, once each, under the verdict."""
    items = what_to_do(details, advice)
    if not items:
        return ""
    lines = "".join(
        f'<li>{"" if file is None else f"<code>{_text(file, 200)}</code>: "}{_text(note, 2_000)}</li>'
        for file, note in items[: limits.advice_items]
    )
    more = len(items) - limits.advice_items
    tail = f'<p class="note">{more:,} more notes are shown with their messages.</p>' if more > 0 else ""
    return f'<section class="advice" id="what-to-do"><h2>What to do</h2><ul>{lines}</ul>{tail}</section>'


def _verdict(details: Sequence[Mapping[str, Any]], state: str, origin: Origin = "upload") -> str:
    if state == "running":
        return ('<section class="verdict pending" id="verdict" data-verdict="running">'
                '<p class="headline">Verification is running</p>'
                "<p>The current uploads are being verified. Load this page again in a moment.</p></section>")
    if state == "notVerified":
        return ('<section class="verdict pending" id="verdict" data-verdict="notVerified">'
                '<p class="headline">Not verified yet</p>'
                "<p>No verification of the current uploads is stored. Upload the six files; "
                "<code>start</code> verifies them if the blob trigger has not.</p></section>")
    counts = severity_counts(details)
    blocked = counts["Error"] > 0
    if blocked and origin == "folder":
        head = ("blocked", "Sync blocked",
                "Fix the Errors in the folder's files and verify the folder again: while an Error remains, "
                "<code>start</code> would answer 400 for these files and queue nothing.")
    elif blocked:
        head = ("blocked", "Sync blocked",
                "Fix the Errors, upload the files again, then call <code>start</code>: "
                "it answers 400 and queues nothing while an Error remains.")
    elif origin == "folder":
        head = ("ready", "Sync can start",
                "No Error: with these files <code>start</code> would queue a run. Warnings and Information "
                "do not block it.")
    else:
        head = ("ready", "Sync can start",
                "No Error: <code>start</code> queues a run. Warnings and Information do not block it.")
    items = "".join(
        f'<li class="count" id="count-{s}" data-severity="{s}" data-count="{counts[s]}">'
        f"<strong>{counts[s]:,}</strong> {_count_word(s, counts[s])}</li>"
        for s in SEVERITIES
    )
    return (f'<section class="verdict {head[0]}" id="verdict" data-verdict="{head[0]}">'
            f'<p class="headline">{head[1]}</p><p>{head[2]}</p><ul class="counts">{items}</ul></section>')


def _count_word(severity: str, count: int) -> str:
    return severity if count == 1 else _PLURAL[severity]


def _chart(details: Sequence[Mapping[str, Any]], limits: PageLimits) -> str:
    """Messages per file and severity as a stacked bar per file (inline SVG), the sum of the
    messages' row totals in each bar's title."""
    per_file: dict[str, Counter[str]] = {}
    rows: Counter[str] = Counter()
    for message in details:
        per_file.setdefault(str(message.get("fileName")), Counter())[str(message.get("type"))] += 1
        rows[str(message.get("fileName"))] += int(message.get("total") or 0)
    if not per_file:
        return ""
    ranked = sorted(per_file, key=lambda f: (-sum(per_file[f].values()), f))[: limits.chart_files]
    shown = sorted(ranked)
    label_width, area, row_height, minimum = 190, 430, 26, 22
    peak = max(sum(per_file[f].values()) for f in shown)
    bars = []
    for index, file_name in enumerate(shown):
        y, x = 8 + index * row_height, label_width
        counts = per_file[file_name]
        parts = [f'<text class="label" x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
                 f"{_plain(file_name, 28)}</text>"]
        for severity in SEVERITIES:
            count = counts.get(severity, 0)
            if not count:
                continue
            width = max(minimum, round(count / peak * area))
            parts.append(f'<rect class="{severity}" x="{x}" y="{y}" width="{width}" height="{row_height - 6}" rx="2"/>'
                         f'<text class="count" x="{x + width / 2:.0f}" y="{y + 15}" text-anchor="middle">{count}</text>')
            x += width
        summary = ", ".join(f"{counts[s]} {_count_word(s, counts[s])}" for s in SEVERITIES if counts.get(s))
        messages = sum(counts.values())
        # A row with two problems is in two messages' totals: the sum is said as such, not as rows.
        total = rows[file_name]
        about = f"{total:,} {'row' if total == 1 else 'rows'} in their totals" if total else "about the whole file"
        summary = f"{messages:,} {'message' if messages == 1 else 'messages'} ({summary}), {about}"
        bars.append(f'<g class="bar" data-file="{_attr(file_name)}"><title>{_plain(file_name)}: '
                    f"{_plain(summary)}</title>{''.join(parts)}</g>")
    height = 16 + len(shown) * row_height
    more = len(per_file) - len(shown)
    note = f'<p class="note">{more:,} more files with messages are not drawn.</p>' if more else ""
    legend = "".join(f'<li><i class="{s}"></i>{_PLURAL[s]}</li>' for s in SEVERITIES)
    units = ('<p class="note" id="chart-units">Each bar counts the <strong>messages</strong> about one file, by '
             "severity, not rows: one message stands for every row with the same problem in one column, and "
             "lists them below. Point at a bar for its row totals; click it to show that file's messages.</p>")
    return (
        '<h2>Where the problems are: messages per file</h2>' + units +
        f'<svg class="chart" id="chart" role="img" aria-label="Messages per file and severity" '
        f'xmlns="http://www.w3.org/2000/svg" width="{label_width + area + 90}" height="{height}" '
        f'viewBox="0 0 {label_width + area + 90} {height}">{"".join(bars)}</svg>'
        f'<ul class="legend">{legend}</ul>{note}'
    )


def _size(size: object) -> str:
    if not isinstance(size, int):
        return ""
    if size < 1024:
        return f"{size:,} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024**2:.1f} MiB"


def _files(files: Sequence[Mapping[str, Any]], origin: Origin = "upload") -> str:
    if not files:
        return '<h2>Files</h2><p class="empty">No file was read.</p>'
    lines = []
    for entry in sorted(files, key=lambda f: str(f.get("fileName") or f.get("uploadedName") or f.get("name"))):
        uploaded = entry.get("uploadedName") or entry.get("name") or entry.get("fileName")
        rows = entry.get("rows")
        size = entry.get("size")
        variant = entry.get("variant")
        meaning = VARIANTS.get(str(variant), "not read: no header could be read from the file")
        lines.append(
            f'<tr data-file="{_attr(entry.get("fileName") or "")}"><td>{_text(uploaded, 200)}</td>'
            f'<td title="{_attr(meaning)}">{_text(variant or "—")}</td>'
            f'<td class="num">{"" if rows is None else f"{rows:,}"}</td>'
            f'<td class="num" title="{"" if size is None else f"{size:,} bytes"}">{_size(size)}</td></tr>'
        )
    named = "Name in the folder" if origin == "folder" else "Name as uploaded"
    explained = ('<p class="note" id="variant-note"><strong>Variant</strong>: which header names a file uses, '
                 f"read from its header. US: {_text(VARIANTS['US'].split(': ', 1)[1])}. "
                 f"UK: {_text(VARIANTS['UK'].split(': ', 1)[1])}. Each file is read as its own variant, so a set may "
                 "mix them; — means no header was read. <strong>Rows</strong>: data rows, the header not counted.</p>")
    return (f'<h2>Files</h2><table id="files"><thead><tr><th>{named}</th><th>Variant</th>'
            '<th class="num">Rows</th><th class="num">Size</th></tr></thead>'
            f"<tbody>{''.join(lines)}</tbody></table>{explained}")


def _filters(details: Sequence[Mapping[str, Any]]) -> str:
    names = sorted({str(m.get("fileName")) for m in details})
    options = "".join(f'<option value="{_attr(n)}">{_plain(n, 80)}</option>' for n in names)
    boxes = "".join(
        f'<label><input type="checkbox" name="severity" value="{s}" checked> {_PLURAL[s]}</label> '
        for s in SEVERITIES
    )
    return (
        '<div class="filters" id="filters" hidden>'
        f'<label>File <select id="filter-file"><option value="">All files</option>{options}</select></label>'
        f"<span>{boxes}</span>"
        '<label>Search <input type="search" id="filter-text" placeholder="value, row, column, text"></label>'
        '<output id="filter-status" aria-live="polite"></output></div>'
    )


def _messages(details: Sequence[Mapping[str, Any]], limits: PageLimits, origin: Origin = "upload") -> str:
    if not details:
        return '<h2>Messages</h2><p class="empty" id="no-messages">Nothing was found: no message.</p>'
    budget = limits.rows_per_page
    sections = []
    for index, message in enumerate(details[: limits.messages_per_page], start=1):
        rows = message.get("rows") or []
        shown = min(len(rows), limits.rows_per_message, budget)
        budget -= shown
        sections.append(_message(index, message, rows[:shown], limits, origin))
    left = len(details) - len(sections)
    tail = (f'<p class="note" id="messages-not-shown">{left:,} more messages are not shown on this page; '
            "the JSON and CSV reports have them all.</p>") if left > 0 else ""
    return f"<h2>Messages</h2>{_filters(details)}{''.join(sections)}{tail}"


def _message(index: int, message: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], limits: PageLimits,
             origin: Origin = "upload") -> str:
    severity = str(message.get("type"))
    severity = severity if severity in SEVERITIES else "Error"
    total = int(message.get("total") or 0)
    kept = len(message.get("rows") or [])
    facts = []
    if total or kept:
        facts.append(f"{total:,} {'row' if total == 1 else 'rows'} in total, {kept:,} listed")
        if unlisted(message):
            facts.append(f"{unlisted(message):,} more counted but not listed")
        if len(rows) < kept:
            facts.append(f"the first {len(rows):,} shown here (the CSV report has every listed row)")
    else:
        facts.append("about the whole file")
    if message.get("field"):
        facts.append(f"field {_text(message['field'], 200)}")
    header = (
        f'<header><h3><span class="sev {severity}">{severity}</span>'
        f'<span class="file">{_text(message.get("fileName"), 200)}</span>'
        f'<span class="description">{_text(described(message, origin), 2_000)}</span></h3>'
        f'<p class="meta">{"; ".join(facts)}</p>{_note(message.get("note"))}</header>'
    )
    table = ""
    if rows:
        lines = "".join(
            f'<tr><td class="num">{_text(r.get("row"))}</td>'
            f'<td>{_text(r.get("column"), 200)}</td>'
            f'<td class="value">{_value(shown_value(r), limits.value_chars)}</td>'
            f'<td class="note">{_text(r.get("note"), limits.value_chars)}</td></tr>'
            for r in rows
        )
        table = ('<table><thead><tr><th class="num">Row</th><th>Column</th><th>Value</th><th>Note</th></tr>'
                 f"</thead><tbody>{lines}</tbody></table>")
    return (f'<section class="message" id="message-{index}" data-file="{_attr(message.get("fileName"))}" '
            f'data-severity="{severity}" data-total="{total}">{header}{table}</section>')


def _note(note: object) -> str:
    """A message's note under its header: the likely cause and the fix."""
    return f'<p class="hint"><strong>What to do:</strong> {_text(note, 2_000)}</p>' if note else ""
