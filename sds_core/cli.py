"""Command line: `python -m sds_core verify DIR` (or `sds-verify DIR`) prints the body `start` would answer."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from sds_core.verification.fileformats import FORMAT_NAMES, V21_NAME, detect_format, names_of
from sds_core.verification.options import VerifyOptions
from sds_core.verification.folder import FolderAdvice
from sds_core.verification.hints import listed
from sds_core.verification.report import report_csv, severity_counts, start_body, visible, what_to_do
from sds_core.verification.spec import FILES
from sds_core.verification.verify import VerificationResult, verify_folder

DEFAULT_BASE_URL = "https://graph.microsoft.com/beta"
DEFAULT_DETAIL_ROWS = 1000
MAX_HINT_LINES = 20
EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

DESCRIPTION = """\
Verify the School Data Sync (classic) CSV files of a folder as the retired profile API did, and
print on stdout the JSON body that POST .../synchronizationProfiles/{id}/start would answer:
Graph's collection of verification messages ("value": [] when nothing is wrong).

The folder's *.csv files are read (other files are ignored); names match in any letter case, and
each file may use the US or the UK header. The six files:
  {files}
A folder of SDS v2.1 files (orgs.csv, users.csv, roles.csv, ...) is verified with the v2.1 rules
instead (docs/sds-v2.1-rules.md); --format forces either.
One summary line goes to stderr at the end."""

EPILOG = """\
exit status:
  0  no Error: a sync may start (Warnings and Information do not block it)
  1  at least one Error: start would answer 400 and queue nothing
  2  a usage or input problem (no such folder, a bad profile file, a report path that cannot be
     written): one line on stderr, nothing on stdout
  130  interrupted

examples:
  {prog} ./export
  {prog} ./export --profile profile.json --html report.html --report report.csv"""


class InputProblem(Exception):
    """A usage or input problem: exit 2 with this one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with one line for a usage error, pointing at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _count(text: str) -> int:
    """A whole number >= 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder holding the six SDS CSV files")
    parser.add_argument("--profile", type=Path, metavar="FILE.json",
                        help="apply a synchronizationProfile as the API stores it (default: none)")
    parser.add_argument("--details", action="store_true",
                        help='print {"response": <body>, "details": [...]}: every message with its rows')
    parser.add_argument("--report", type=Path, metavar="FILE.csv",
                        help="also write the spreadsheet report: one line per offending row")
    parser.add_argument("--html", type=Path, metavar="FILE.html",
                        help="also write the report as one self-contained HTML page")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, metavar="URL",
                        help="<base> of @odata.context (default: %(default)s)")
    parser.add_argument("--max-rows", type=_count, default=0, metavar="N",
                        help="rows allowed per file, 0 for no limit (default: %(default)s; the original's was 500000)")
    parser.add_argument("--detail-rows", type=_count, default=DEFAULT_DETAIL_ROWS, metavar="N",
                        help="rows kept behind each message; totals are always counted (default: %(default)s)")
    parser.add_argument("--new-sds", action="store_true",
                        help="also apply the new School Data Sync's v1 rules, as start does for profiles "
                             "forwarded to it (messages 20-22)")
    _add_format_argument(parser)


def _add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMAT_NAMES, default=None,
                        help="the CSV format: v1 (the classic six) or v2.1 (orgs.csv, users.csv, roles.csv, ...; "
                             "docs/sds-v2.1-rules.md); default: told by the file names")


def _help_texts(prog: str) -> dict[str, Any]:
    return {
        "description": DESCRIPTION.replace("{files}", ", ".join(f.name for f in FILES)),
        "epilog": EPILOG.replace("{prog}", prog),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def _parser(prog: str = "python -m sds_core") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="School Data Sync (classic) tools; see: verify --help")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verify = commands.add_parser("verify", help="verify the *.csv files of a folder",
                                 **_help_texts(f"{prog} verify"))
    _add_verify_arguments(verify)
    convert = commands.add_parser("convert", help="convert a classic set to v2.1",
                                  **_convert_help(f"{prog} convert"))
    _add_convert_arguments(convert)
    return parser


def _verify_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, **_help_texts(prog))
    _add_verify_arguments(parser)
    return parser


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(
        type(value), "a number"
    )


def _expect(value: object, kind: type | tuple[type, ...], where: str, wanted: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise InputProblem(f"{where} must be {wanted}, not {_json_type(value)}")


def check_profile_shape(profile: object) -> Mapping[str, Any]:
    """The profile when the members the verifier reads have the shapes Graph gives them."""
    if not isinstance(profile, dict):
        raise InputProblem(f"expected an object (a synchronizationProfile), not {_json_type(profile)}")
    identity = profile.get("identitySynchronizationConfiguration")
    _expect(identity, dict, "identitySynchronizationConfiguration", "an object")
    if identity:
        _expect(identity.get("@odata.type"), str, "identitySynchronizationConfiguration.@odata.type", "a string")
        domains = identity.get("userDomains")
        _expect(domains, list, "identitySynchronizationConfiguration.userDomains", "an array")
        for index, domain in enumerate(domains or []):
            where = f"identitySynchronizationConfiguration.userDomains[{index}]"
            if not isinstance(domain, dict):
                raise InputProblem(f"{where} must be an object, not {_json_type(domain)}")
            _expect(domain.get("appliesTo"), str, f"{where}.appliesTo", "a string")
    provider = profile.get("dataProvider")
    _expect(provider, dict, "dataProvider", "an object")
    customizations = (provider or {}).get("customizations")
    _expect(customizations, dict, "dataProvider.customizations", "an object")
    for name, customization in (customizations or {}).items():
        where = f"dataProvider.customizations.{name}"
        _expect(customization, dict, where, "an object")
        optional = (customization or {}).get("optionalPropertiesToSync")
        _expect(optional, list, f"{where}.optionalPropertiesToSync", "an array of column names")
        for column in optional or []:
            if not isinstance(column, str):
                raise InputProblem(f"{where}.optionalPropertiesToSync must hold strings, not {_json_type(column)}")
    _expect(profile.get("handleSpecialCharacterConstraint"), bool, "handleSpecialCharacterConstraint", "true or false")
    return profile


def load_profile(path: Path) -> Mapping[str, Any]:
    """A profile file's JSON, checked for shape; InputProblem names the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputProblem(f"profile {path}: no such file") from None
    except UnicodeDecodeError:
        raise InputProblem(f"profile {path}: not UTF-8 text") from None
    except OSError as err:
        raise InputProblem(f"profile {path}: {err.strerror or err}") from None
    try:
        profile = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputProblem(f"profile {path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    try:
        return check_profile_shape(profile)
    except InputProblem as problem:
        raise InputProblem(f"profile {path}: {problem}") from None


def check_writable(path: Path, option: str) -> None:
    """InputProblem unless `path` can be written as a file (checked before anything is verified)."""
    if path.is_dir():
        raise InputProblem(f"{option} {path}: is a folder, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise InputProblem(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputProblem(f"{option} {path}: permission denied")


def _write(path: Path, text: str, option: str) -> None:
    """Write a whole file or nothing: a temporary file beside it, then renamed over it."""
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise InputProblem(f"{option} {path}: {err.strerror or err}") from None


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it)."""
    current = os.umask(0)
    os.umask(current)
    return current


def _page(result: VerificationResult, details: list[dict[str, Any]], args: argparse.Namespace, seconds: float) -> str:
    files = [{"fileName": name, **summary.to_json()} for name, summary in result.files.items()]
    facts = [
        ("Folder", str(args.folder)),
        ("Profile", str(args.profile) if args.profile else "none", profile_explained(args.profile)),
        format_fact(args.format, args.detected),
        ("Verified", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Took", f"{seconds:.2f} s"),
        ("Rows listed per message", f"up to {args.detail_rows:,}"),
    ]
    title = f"Verification report: {args.folder.resolve().name or args.folder}"
    from sds_core.verification.page import render_page  # only for --html: keeps the start-up short

    advice = set_advice(result, _command(args))
    return render_page(details, files, title=title, facts=facts, origin="folder", advice=advice)


def profile_explained(profile: Path | None) -> str:
    """What the page's Profile fact means."""
    if profile is None:
        return ("no --profile FILE.json was given: no accounts are created, so First Name, Last Name and "
                "Password may be empty, and every optional column is checked")
    return "its account creation (names and Password required) and optionalPropertiesToSync apply"


def format_fact(given: str | None, detected: str | None) -> tuple[str, str, str]:
    """The page's Format fact: the rules verified with, and where that came from."""
    name = "SDS v2.1" if (given or detected) == V21_NAME else "classic (v1)"
    what = ("the new School Data Sync's files: orgs.csv, users.csv, roles.csv, ..." if name == "SDS v2.1"
            else "the six files of the retired profile API")
    told = f"--format {given} was given" if given else "told by the file names; --format forces either"
    return "Format", name, f"{what}; {told}"


def format_line(result: VerificationResult, args: argparse.Namespace) -> str | None:
    """The line saying that a folder's files were told to be SDS v2.1 and verified as such."""
    if args.format is not None or args.detected != V21_NAME or result.note is not None:
        return None
    names = names_of(V21_NAME, result.files.keys())
    return (f"The files are SDS v2.1 ({listed(names)}), the new School Data Sync's format, "
            "told by their names: verified with the v2.1 rules (docs/sds-v2.1-rules.md).")


def not_a_folder(path: Path, command: str) -> str:
    """The one line for a path that is not a folder: a file (verify its folder), or nothing at all."""
    if path.is_file():
        return f"{path}: is a file, not a folder: give the folder that holds the six CSV files: " \
               f"{command} {shlex.quote(str(path.parent))}"
    return f"{path}: no such folder"


def _command(args: argparse.Namespace) -> str:
    """How the admin ran the verifier (`sds-verify` or `python -m sds_core verify`)."""
    return getattr(args, "command_name", "sds-verify")


def folder_advice(advice: FolderAdvice | None, command: str) -> str | None:
    """A folder's advice as one line, with the command that verifies the folder to use instead."""
    if advice is None:
        return None
    if advice.instead is None:
        return f"{advice.text}."
    return f"{advice.text}: run {command} {shlex.quote(str(advice.instead))}"


def set_advice(result: VerificationResult, command: str) -> str | None:
    """The advice about the whole folder: what it holds instead of the files, or files of the other format."""
    return folder_advice(result.advice, command) or result.note


def hint_lines(result: VerificationResult, details: list[dict[str, Any]], command: str,
               first: str | None = None) -> list[str]:
    """The lines on stderr before the summary that say what to do: `first` (the format told), the
    folder's advice, then each file's notes (`school.csv: This file looks like UTF-16 ...`)."""
    items = what_to_do(details, set_advice(result, command))
    # Names come from the folder: written visibly, so that none can move the cursor or recolour.
    lines = [visible(first)] if first else []
    lines += [visible(note if file is None else f"{file}: {note}") for file, note in items[:MAX_HINT_LINES]]
    if len(items) > MAX_HINT_LINES:
        lines.append(f"and {len(items) - MAX_HINT_LINES:,} more notes (--details or --html lists them all)")
    return lines


def summary_line(result: VerificationResult, seconds: float) -> str:
    """The one line on stderr: verdict, messages per severity, files, rows, seconds."""
    counts = severity_counts(m.graph() for m in result.messages)

    def many(count: int, word: str) -> str:
        return f"{count:,} {word}" if count == 1 or word == "information" else f"{count:,} {word}s"

    rows = sum(s.rows for s in result.files.values())
    verdict = "sync blocked" if result.has_errors else "sync can start"
    return (f"{verdict}: {many(counts['Error'], 'error')}, {many(counts['Warning'], 'warning')}, "
            f"{many(counts['Information'], 'information')}; {many(len(result.files), 'file')}, "
            f"{many(rows, 'row')}, {seconds:.2f} s")


def _progress(file_name: str, size: int) -> None:
    print(f"verifying {file_name} ({size / 2**20:.1f} MiB)", file=sys.stderr, flush=True)


def _say(line: str) -> None:
    """One line on stderr; a closed stderr is not a reason to fail."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _print_stdout(text: str) -> None:
    """Write the JSON as UTF-8; a reader that went away (`| head`) ends the output quietly."""
    try:
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(text.encode("utf-8"))
        else:
            sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run `python -m sds_core ...` (or, with `prog`, the single-command `sds-verify`); the exit status."""
    parser = _verify_parser(prog) if prog else _parser()
    args = parser.parse_args(argv)
    name = prog or f"{parser.prog} {args.command}"
    args.command_name = name
    try:
        return _convert(args) if getattr(args, "command", None) == "convert" else _verify(args)
    except InputProblem as problem:
        _say(f"{name}: error: {problem}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say(f"{name}: interrupted")
        return EXIT_INTERRUPTED


def _verify(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise InputProblem(not_a_folder(args.folder, _command(args)))
    profile = load_profile(args.profile) if args.profile else None
    for path, option in ((args.report, "--report"), (args.html, "--html")):
        if path is not None:
            check_writable(path, option)
    args.detected = None if args.format else _folder_format(args.folder)
    options = VerifyOptions.from_profile(
        profile, new_sds=args.new_sds, max_rows_per_file=args.max_rows, detail_rows_per_message=args.detail_rows,
        format=args.format or args.detected,
    )
    started = time.perf_counter()
    try:
        result = verify_folder(args.folder, options, progress=_progress if sys.stderr.isatty() else None)
    except OSError as err:
        raise InputProblem(f"{err.filename or args.folder}: {err.strerror or err}") from None
    details = result.details()
    if args.report is not None:
        _write(args.report, report_csv(details, origin="folder"), "--report")
    if args.html is not None:
        _write(args.html, _page(result, details, args, time.perf_counter() - started), "--html")
    body = start_body(result.graph_messages(), args.base_url)
    output = {"response": body, "details": details} if args.details else body
    _print_stdout(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    for line in hint_lines(result, details, _command(args), format_line(result, args)):
        _say(line)
    _say(summary_line(result, time.perf_counter() - started))
    return EXIT_ERRORS if result.has_errors else EXIT_OK


def verify_main() -> NoReturn:
    """The `sds-verify` console script."""
    exit_now(main(sys.argv[1:], prog="sds-verify"))


def exit_now(status: int) -> NoReturn:
    """End the process with `status` once stdout and stderr are flushed, without the interpreter's
    teardown: freeing numpy's and pyarrow's state takes 0.08-0.14 s, a fifth of a small set's run.

    Only once the command is done: its files are closed and its worker threads have ended.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that has gone, or a closed stream: nothing to lose
            pass
    os._exit(status)


def _folder_format(folder: Path) -> str:
    """The format the names of a folder's files say (fileformats.detect_format)."""
    try:
        return detect_format(p.name for p in folder.iterdir() if p.is_file())
    except OSError as err:
        raise InputProblem(f"{folder}: {err.strerror or err}") from None


CONVERT_DESCRIPTION = """\
Convert a School Data Sync (classic) set of six CSV files (US or UK headers, names in any letter
case) into an SDS v2.1 set for the new School Data Sync, then verify the result as v2.1. The
mapping, what is dropped and what is filled: docs/v1-to-v2.1.md.

v2.1 requires each username's domain: --domain appends one to the Usernames written without one."""

CONVERT_EPILOG = """\
exit status:
  0  converted; the v2.1 set has no Error
  1  converted; the v2.1 set has an Error (stdout lists them, as verify --format v2.1 would)
  2  a usage or input problem (no such folder, OUT_DIR already holding CSV files): one line on
     stderr, nothing written

examples:
  {prog} v1-to-v2.1 ./export ./export-v2.1 --domain contoso.edu
  {prog} v1-to-v2.1 ./export ./export-v2.1 --domain contoso.edu --student-domain students.contoso.edu"""


def _convert_help(prog: str) -> dict[str, Any]:
    return {"description": CONVERT_DESCRIPTION, "epilog": CONVERT_EPILOG.replace("{prog}", prog),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def _add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("conversion", choices=("v1-to-v2.1",), help="the only conversion: v1-to-v2.1")
    parser.add_argument("source", type=Path, metavar="IN_DIR", help="folder holding the six classic CSV files")
    parser.add_argument("target", type=Path, metavar="OUT_DIR",
                        help="folder for the v2.1 files (made when absent; must hold no CSV file)")
    parser.add_argument("--domain", metavar="DOMAIN", help="domain for Usernames without one (students and teachers)")
    parser.add_argument("--student-domain", metavar="DOMAIN", help="domain for students' Usernames (default: --domain)")
    parser.add_argument("--teacher-domain", metavar="DOMAIN", help="domain for teachers' Usernames (default: --domain)")


def _convert(args: argparse.Namespace) -> int:
    """Convert, write the v2.1 files, verify them; the exit status."""
    from sds_core.conversion import convert_folder

    if not args.source.is_dir():
        raise InputProblem(f"{args.source}: no such folder")
    if args.target.exists() and not args.target.is_dir():
        raise InputProblem(f"{args.target}: is a file, not a folder")
    if args.target.is_dir() and any(p.name.lower().endswith(".csv") for p in args.target.iterdir()):
        raise InputProblem(f"{args.target}: already holds CSV files; choose an empty or new folder")
    domains = {role: domain for role, domain in (("student", args.student_domain or args.domain),
                                                  ("teacher", args.teacher_domain or args.domain)) if domain}
    started = time.perf_counter()
    try:
        convert_folder(args.source, args.target, domains)
        result = verify_folder(args.target, VerifyOptions(format="v2.1"))
    except OSError as err:
        raise InputProblem(f"{err.filename or args.target}: {err.strerror or err}") from None
    body = start_body(result.graph_messages(), DEFAULT_BASE_URL)
    _print_stdout(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    _say(f"wrote {len(result.files)} v2.1 files to {args.target}; " + summary_line(result, time.perf_counter() - started))
    return EXIT_ERRORS if result.has_errors else EXIT_OK


def convert_main() -> NoReturn:
    """The `sds-convert` console script: `sds-convert v1-to-v2.1 IN_DIR OUT_DIR`."""
    parser = _Parser(prog="sds-convert", **_convert_help("sds-convert"))
    _add_convert_arguments(parser)
    args = parser.parse_args(sys.argv[1:])
    try:
        status = _convert(args)
    except InputProblem as problem:
        _say(f"sds-convert: error: {problem}")
        status = EXIT_USAGE
    except KeyboardInterrupt:
        _say("sds-convert: interrupted")
        status = EXIT_INTERRUPTED
    exit_now(status)
