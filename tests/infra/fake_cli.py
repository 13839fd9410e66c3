"""A stand-in for az, azd and curl that records each call and answers from a script of replies.

Deployment scripts can only run against Azure; this lets their control flow and the exact
arguments and JSON bodies they send be checked offline. FAKE_CLI_LOG names the call log (JSON
lines); FAKE_CLI_REPLIES maps "<cli> <leading words>" (for az rest, plus the method) to a list
of {"out", "code"} replies given in order, the last one repeating.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def command_key(cli: str, args: list[str]) -> str:
    """`az functionapp keys list`, `az rest PATCH`, `azd env set`, `curl`."""
    words = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    if cli == "azd":
        words = words[:2]
    key = " ".join([cli, *words])
    if cli == "az" and words == ["rest"]:
        key += " " + args[args.index("--method") + 1]
    return key


def main() -> int:
    cli, args = sys.argv[1], sys.argv[2:]
    log = Path(os.environ["FAKE_CLI_LOG"])
    key = command_key(cli, args)
    entry: dict[str, object] = {"key": key, "args": args}
    if "--body" in args:
        body = args[args.index("--body") + 1]
        text = Path(body[1:]).read_text() if body.startswith("@") else body
        entry["body"] = json.loads(text)
    earlier = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    with log.open("a") as out:
        out.write(json.dumps(entry) + "\n")
    replies = json.loads(os.environ.get("FAKE_CLI_REPLIES", "{}")).get(key, [{"out": ""}])
    reply = replies[min(sum(e["key"] == key for e in earlier), len(replies) - 1)]
    if reply.get("out"):
        print(reply["out"])
    return int(reply.get("code", 0))


if __name__ == "__main__":
    sys.exit(main())
