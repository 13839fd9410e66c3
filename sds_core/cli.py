"""Command line: `python -m sds_core verify DIR` prints the body `start` would answer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sds_core.verification.options import VerifyOptions
from sds_core.verification.report import report_csv, start_body
from sds_core.verification.verify import verify_folder

DEFAULT_BASE_URL = "https://graph.microsoft.com/beta"
EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sds_core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify the *.csv files of a folder")
    verify.add_argument("folder", type=Path, help="folder holding the six SDS CSV files")
    verify.add_argument("--profile", type=Path, help="profile JSON as the API stores it (default: none)")
    verify.add_argument("--details", action="store_true", help='print {"response": ..., "details": [...]}')
    verify.add_argument("--report", type=Path, help="write one CSV line per offending row to this file")
    verify.add_argument("--base-url", default=DEFAULT_BASE_URL, help="<base> of @odata.context")
    verify.add_argument("--max-rows", type=int, default=0, help="rows allowed per file (0: no limit)")
    verify.add_argument("--detail-rows", type=int, default=1000, help="rows kept behind each message")
    return parser


def _progress(file_name: str, size: int) -> None:
    print(f"verifying {file_name} ({size / 2**20:.1f} MiB)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        profile = json.loads(args.profile.read_text(encoding="utf-8")) if args.profile else None
        options = VerifyOptions.from_profile(
            profile, max_rows_per_file=args.max_rows, detail_rows_per_message=args.detail_rows
        )
        progress = _progress if sys.stderr.isatty() else None
        result = verify_folder(args.folder, options, progress=progress)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    body = start_body(result.graph_messages(), args.base_url)
    output = {"response": body, "details": result.details()} if args.details else body
    json.dump(output, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    if args.report:
        try:
            args.report.write_text(report_csv(result.details()), encoding="utf-8", newline="")
        except OSError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
    return EXIT_ERRORS if result.has_errors else EXIT_OK
