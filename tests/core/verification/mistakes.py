"""The folders of tests/data/mistakes: the mistakes admins make with Excel, one folder each.

They are committed (the closing table of issue 23 was made by running the verifier on them), and
made by this module, which a test runs to show they are what it writes. To write them again:
`python -m tests.core.verification.mistakes`.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from tests.paths import DATA, SAMPLES

MISTAKES = DATA / "mistakes"
MIN_REQUIRED = SAMPLES / "sds-v1_min-required"
V21_SAMPLE = SAMPLES / "sds-v2.1"
SCHOOL_ROWS = [["SIS ID", "Name"], ["10001", "École Contoso"], ["10002", "Fabrikam High School"]]


def _sample(folder: Path) -> Path:
    """The min-required sample's six files in a new folder."""
    folder.mkdir(parents=True)
    for path in sorted(MIN_REQUIRED.glob("*.csv")):
        shutil.copyfile(path, folder / path.name)
    return folder


def _lines(rows: list[list[str]], separator: str) -> str:
    return "".join(separator.join(row) + "\r\n" for row in rows)


def unicode_text(folder: Path) -> None:
    """School.csv as Excel's "Unicode Text" writes a sheet: UTF-16 LE with a BOM, tab-separated."""
    (_sample(folder) / "School.csv").write_bytes(_lines(SCHOOL_ROWS, "\t").encode("utf-16"))


def windows_1252(folder: Path) -> None:
    """School.csv as Excel's "CSV (Comma delimited)" writes it on a Western European Windows."""
    (_sample(folder) / "School.csv").write_bytes(_lines(SCHOOL_ROWS, ",").encode("cp1252"))


def semicolons(folder: Path) -> None:
    """School.csv as "CSV UTF-8" writes it where the list separator is a semicolon (most of Europe)."""
    (_sample(folder) / "School.csv").write_bytes(b"\xef\xbb\xbf" + _lines(SCHOOL_ROWS, ";").encode("utf-8"))


def workbooks(folder: Path) -> None:
    """Three Excel workbooks instead of CSV files."""
    folder.mkdir(parents=True)
    for name in ("school", "section", "student"):
        source = (MIN_REQUIRED / f"{name.title()}.csv").read_text(encoding="utf-8")
        (folder / f"{name}.xlsx").write_bytes(xlsx([line.split(",") for line in source.splitlines()]))


def empty(folder: Path) -> None:
    """A folder with nothing in it (git keeps it by a hidden file, which the verifier leaves alone)."""
    folder.mkdir(parents=True)
    (folder / ".gitkeep").write_bytes(b"")


def parent(folder: Path) -> None:
    """The folder above the export: the six files are in its sub-folder `export`."""
    _sample(folder / "export")


def v21(folder: Path) -> None:
    """Microsoft's SDS v2.1 sample (orgs.csv, users.csv, ...), the new School Data Sync's format."""
    folder.mkdir(parents=True)
    for path in sorted(V21_SAMPLE.glob("*.csv")):
        shutil.copyfile(path, folder / path.name)


BUILDERS = {"unicode-text": unicode_text, "windows-1252": windows_1252, "semicolons": semicolons,
            "workbooks": workbooks, "empty": empty, "parent": parent, "v21": v21}


def write_all(root: Path = MISTAKES) -> None:
    """Write every folder under `root` (replacing what is there)."""
    for name, build in BUILDERS.items():
        shutil.rmtree(root / name, ignore_errors=True)
        build(root / name)


def xlsx(rows: list[list[str]]) -> bytes:
    """A minimal real Excel workbook (Office Open XML, ECMA-376) of one sheet of text cells.

    Stored without compression and dated 1980-01-01, so the same rows give the same bytes anywhere.
    """
    cells = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                                   for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(rows, 1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{main}">'
            f"<sheetData>{cells}</sheetData></worksheet>"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text.encode("utf-8"))
    return buffer.getvalue()


if __name__ == "__main__":
    write_all()
