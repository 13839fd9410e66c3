"""Reading facts out of Bicep text (no Bicep compiler here): blocks, keys, string variables."""

from __future__ import annotations

import re
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"


def text(name: str) -> str:
    """A Bicep file of infra/, comments removed."""
    source = (INFRA / name).read_text()
    return re.sub(r"//[^\n]*", "", source)


def all_text() -> str:
    """Every Bicep file of infra/, comments removed."""
    return "\n".join(text(str(p.relative_to(INFRA))) for p in sorted(INFRA.rglob("*.bicep")))


def block(source: str, opening: str) -> str:
    """The `{...}` that follows the first `opening` (which ends with its `{`), braces balanced."""
    start = source.index(opening) + len(opening)
    depth = 1
    for i in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        if depth == 0:
            return source[start:i]
    raise ValueError(f"unbalanced block after {opening!r}")


def keys(object_body: str) -> dict[str, str]:
    """Top-level `key: value` pairs of an object body (values as written, one line each)."""
    pairs, depth = {}, 0
    for line in object_body.splitlines():
        if depth == 0:
            found = re.match(r"^\s*'?([A-Za-z_][A-Za-z0-9_]*)'?\s*:\s*(.*?)\s*$", line)
            if found:
                pairs[found.group(1)] = found.group(2)
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
    return pairs


def string_vars(source: str) -> dict[str, str]:
    """`var name = 'literal'` declarations."""
    return dict(re.findall(r"^var (\w+) = '([^'$]*)'\s*$", source, flags=re.MULTILINE))


def params(source: str) -> dict[str, bool]:
    """param name -> whether it has a default."""
    found = re.findall(r"^param (\w+) \w+( = )?", source, flags=re.MULTILINE)
    return {name: bool(default) for name, default in found}
