"""The notes that say what to do, as `start` stores them in the detail: encodings, separators, files
under other names, where a missing reference was looked up, which rule a value breaks."""

from __future__ import annotations

import codecs
import io
import zipfile

import pytest

from sds_core.verification import formats, sniff
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec import SCHOOL, STUDENT_ENROLLMENT, Kind
from sds_core.verification.verify import verify_files
from tests.core.builders import sample_files
from tests.core.verification.mistakes import xlsx

SAVE = '"CSV UTF-8 (Comma delimited)"'
SCHOOL_TEXT = "SIS ID,Name\r\n10001,Contoso High School\r\n10002,Fabrikam High School\r\n"
UTF16 = f"This file looks like UTF-16 (Excel's \"Unicode Text\"): save it as {SAVE}."


def details_with(**replaced: bytes) -> list[dict[str, object]]:
    """The detail for the min-required sample with files replaced or added (`School_csv=...`)."""
    files = sample_files()
    for name, data in replaced.items():
        name = name.replace("_", ".")
        files.pop(name, None)
        if data is not None:
            files[name] = data
    return verify_files(files).details()


def ods_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("export/School.csv", SCHOOL_TEXT)
    return out.getvalue()


@pytest.mark.parametrize(("data", "expected"), [
    (SCHOOL_TEXT.encode("utf-16"), sniff.Encoding.UTF16),  # with the BOM of this machine's order
    (codecs.BOM_UTF16_BE + SCHOOL_TEXT.encode("utf-16-be"), sniff.Encoding.UTF16),
    (SCHOOL_TEXT.encode("utf-16-le"), sniff.Encoding.UTF16),  # no BOM: the NULs tell
    (SCHOOL_TEXT.encode("utf-16-be"), sniff.Encoding.UTF16),
    (SCHOOL_TEXT.encode("utf-32"), sniff.Encoding.UTF32),
    ("SIS ID,Name\r\n1,Lycée\r\n".encode("cp1252"), sniff.Encoding.CP1252),
    ("SIS ID,Name\r\n1,\u2019Quote\u2019\r\n".encode("cp1252"), sniff.Encoding.CP1252),  # 0x92
    (xlsx([["SIS ID", "Name"], ["1", "A"]]), sniff.Encoding.XLSX),
    (ods_bytes(), sniff.Encoding.ODS),
    (zip_bytes(), sniff.Encoding.ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, sniff.Encoding.XLS),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
    (b"SIS ID,Name\r\n1,\x81\x8d\r\n", None),  # bytes Windows-1252 does not define
])
def test_what_bytes_that_are_not_utf8_look_like(data: bytes, expected: sniff.Encoding | None) -> None:
    invalid = next((i for i in range(len(data)) if _invalid_at(data, i)), None)
    assert sniff.encoding(data, invalid if invalid is not None else 0) is expected


def _invalid_at(data: bytes, index: int) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start == index
    return False


def test_utf8_text_is_nothing_else() -> None:
    assert sniff.encoding(SCHOOL_TEXT.encode("utf-8")) is None
    assert sniff.encoding(b"SIS ID,Name\r\n1,Ma\x00th\r\n") is None  # one NUL is not UTF-16


def note_of(details: list[dict[str, object]], file_name: str) -> list[object]:
    return [m.get("note") for m in details if m["fileName"] == file_name]


@pytest.mark.parametrize(("data", "note"), [
    (SCHOOL_TEXT.encode("utf-16"), UTF16),
    (SCHOOL_TEXT.encode("utf-32"), f"This file looks like UTF-32: save it as UTF-8 (in Excel: {SAVE})."),
    ("SIS ID,Name\r\n10001,Lycée\r\n".encode("cp1252"),
     "This file looks like Windows-1252, as Excel's \"CSV (Comma delimited)\" saves it (byte 0xE9 on line 2 is "
     f"\"é\" there): save it as {SAVE}."),
    (xlsx([["SIS ID", "Name"], ["10001", "A"]]),
     f"This file is an Excel workbook (.xlsx) under a .csv name: open it in Excel and save the sheet as {SAVE}."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
     f"This file is an Excel 97-2003 workbook (.xls) under a .csv name: open it in Excel and save the sheet as "
     f"{SAVE}."),
    (ods_bytes(), 'This file is an OpenDocument spreadsheet (.ods) under a .csv name: save the sheet as "Text CSV" '
                  'with the character set "Unicode (UTF-8)" and "," as field delimiter.'),
    (zip_bytes(), f"This file is a ZIP archive, not a CSV file: extract it; save a workbook inside it as {SAVE}."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
     f"Save it as UTF-8: in Excel as {SAVE}, in another program with the encoding UTF-8."),
])
def test_message_5_notes_what_the_file_is(data: bytes, note: str) -> None:
    details = details_with(School_csv=data)
    assert [(m["code"], m.get("note")) for m in details] == [("notUtf8", note)]


def test_utf16_without_a_bom_decodes_but_every_message_of_the_file_says_what_it_is() -> None:
    details = details_with(School_csv=SCHOOL_TEXT.encode("utf-16-le"))
    assert len(details) >= 2 and note_of(details, "school.csv") == [UTF16] * len(details)


SEMICOLONS = ("The header is separated by semicolons (;), not commas: Excel separates with the list separator of "
              "the computer's region. Set it to a comma (Windows: Region > Additional settings > List separator), "
              f"then save the file again as {SAVE}.")
TABS = ("The header is separated by tabs, not commas (Excel's \"Text (Tab delimited)\" or \"Unicode Text\"): "
        f"save the file as {SAVE}.")


@pytest.mark.parametrize(("text", "note"), [
    ("SIS ID;Name\r\n10001;Contoso High School\r\n", SEMICOLONS),
    ('"SIS ID";"Name"\r\n"10001";"Contoso, High School"\r\n', SEMICOLONS),  # quoted, a comma in a value
    ("DfE Number;Name\r\n10001;Contoso\r\n", SEMICOLONS),  # the UK header
    ("SIS ID\tName\r\n10001\tContoso High School\r\n", TABS),
    ("SIS ID|Name\r\n10001|Contoso\r\n",
     "The header is separated by vertical bars (|), not commas: export the file again as UTF-8 CSV with commas."),
])
def test_another_separator_is_named_on_every_message_of_the_file(text: str, note: str) -> None:
    details = details_with(School_csv=text.encode("utf-8"))
    codes = [m["code"] for m in details if m["fileName"] == "school.csv"]
    assert "missingHeaderField" in codes and note_of(details, "school.csv") == [note] * len(codes)


@pytest.mark.parametrize("header", [
    ["SIS ID", "Name", "Notes;more"],  # a semicolon in an unknown column's name
    ["SIS ID;Name", "SIS ID", "Name"],  # the commas already find every column
    ["School;Name"],  # one known name is not a layout
])
def test_a_semicolon_is_not_taken_for_the_separator_without_cause(header: list[str]) -> None:
    assert sniff.separator(SCHOOL, header) is None


def test_separators_are_found_for_each_file() -> None:
    assert sniff.separator(STUDENT_ENROLLMENT, ["Section SIS ID;SIS ID"]) == ";"
    assert sniff.separator(STUDENT_ENROLLMENT, ["Section ID\tID"]) == "\t"


def test_a_missing_file_names_the_workbook_or_text_file_that_seems_to_be_it() -> None:
    details = details_with(School_csv=None, School_xlsx=b"PK", Section_csv=None, **{"Section (1)_txt": b"x"})
    assert [(m["fileName"], m["code"], m.get("note")) for m in details] == [
        ("school.csv", "missingFile",
         f"School.xlsx is an Excel workbook: save its sheet as {SAVE} named school.csv."),
        ("section.csv", "missingFile", f"Section (1).txt may hold this file: save it as {SAVE} named section.csv."),
    ]


def test_a_file_under_a_near_name_is_named_on_both_messages() -> None:
    files = sample_files()
    files["Students.csv"] = files.pop("Student.csv")
    files["Teacher Roster.csv"] = files.pop("TeacherRoster.csv")
    details = verify_files(files).details()
    notes = {(m["fileName"], m["code"]): m.get("note") for m in details if m["code"] in ("missingFile", "unknownFile")}
    assert notes == {
        ("students.csv", "unknownFile"): "Its name is close to student.csv: if it is that file, rename it student.csv.",
        ("teacher roster.csv", "unknownFile"):
            "Its name is close to teacherroster.csv: if it is that file, rename it teacherroster.csv.",
        ("student.csv", "missingFile"): "Students.csv may be this file under another name: rename it student.csv.",
        ("teacherroster.csv", "missingFile"):
            "Teacher Roster.csv may be this file under another name: rename it teacherroster.csv.",
    }


def test_an_unknown_file_with_no_near_name_has_no_note() -> None:
    details = details_with(Guardians_csv=b"SIS ID\r\n1\r\n")
    assert details == [{"type": "Warning", "fileName": "guardians.csv",
                        "description": "The file is not part of the SDS format and was ignored.",
                        "code": "unknownFile", "field": None, "total": 0, "truncated": False, "rows": []}]


def test_a_missing_reference_names_the_file_and_column_looked_up_in_its_variant() -> None:
    uk_school = b"DfE Number,Name\r\n10001,Contoso High School\r\n"
    section = b"SIS ID,School SIS ID,Section Name\r\n11001,10001,Math\r\n11002,10009,Art\r\n"
    details = details_with(School_csv=uk_school, Section_csv=section)
    assert details[0] == {
        "type": "Error", "fileName": "section.csv",
        "description": "1 row(s) have referenced data not found in source. Field - School SIS ID",
        "code": "referenceNotFound", "field": "School SIS ID", "total": 1, "truncated": False,
        "rows": [{"row": 3, "column": "School SIS ID", "value": "10009",
                  "note": "not in the DfE Number column of school.csv"}],
    }


def test_special_characters_name_what_becomes_an_underscore() -> None:
    files = sample_files()
    files["Section.csv"] = b"SIS ID,School SIS ID,Section Name\r\n11001,10001,A\r\n11002,10001,B\r\n"
    files["StudentEnrollment.csv"] = b"Section SIS ID,SIS ID\r\n11001,13001\r\n11#0\xc3\xa41,13002\r\n"
    options = VerifyOptions.from_profile({"handleSpecialCharacterConstraint": True})
    details = verify_files(files, options).details()
    special = [m for m in details if m["code"] == "specialCharacters"]
    assert [r["note"] for m in special for r in m["rows"]] == ['"#", "ä" will become "_"']


@pytest.mark.parametrize(("value", "kind", "why"), [
    ("a b", Kind.SIS_ID, 'a space is not allowed: a SIS ID has only ASCII letters, digits, ".", "_" and "-"'),
    ("Schön", Kind.SIS_ID, '"ö" is not allowed: a SIS ID has only ASCII letters, digits, ".", "_" and "-"'),
    ("1\u200b", Kind.SIS_ID, '"\u200b" is not allowed: a SIS ID has only ASCII letters, digits, ".", "_" and "-"'),
    ("x" * 65, Kind.SIS_ID, "65 characters: a SIS ID has at most 64"),
    (" 1001", Kind.SIS_ID, "a space at the start"),
    ("1001  ", Kind.SIS_ID, "2 spaces at the end"),
    ("1001\t", Kind.SIS_ID, "a tab at the end"),
    (" 1001 ", Kind.SIS_ID, "spaces at the start and at the end"),
    ("o klein", Kind.USERNAME, "a space is not allowed: a Username has only ASCII letters, digits and ' . - _ ! # ^ ~"),
    ("o,k@x.org", Kind.USERNAME,
     '"," is not allowed before the @: a Username has only ASCII letters, digits and \' . - _ ! # ^ ~'),
    ("@contoso.edu", Kind.USERNAME, "nothing before the @"),
    (".ok", Kind.USERNAME, "a dot may not begin or end the name before the @, nor follow another dot"),
    ("o..k", Kind.USERNAME, "a dot may not begin or end the name before the @, nor follow another dot"),
    ("x" * 65 + "@a.org", Kind.USERNAME, "65 characters before the @: at most 64"),
    ("ok@contoso", Kind.USERNAME, '"contoso" after the @ is not a domain name (such as contoso.edu)'),
    ("ok@a@b.org", Kind.USERNAME, '"a@b.org" after the @ is not a domain name (such as contoso.edu)'),
    ("a@b", Kind.EMAIL, "an email is name@domain.tld, without spaces"),
    ("2024-02-30", Kind.DATE, "no such day in the calendar"),
    ("30.01.2024", Kind.DATE, "a date is YYYY-MM-DD, YYYYMMDD or M/D/YYYY"),
    ("31", Kind.YEAR, "a year is four digits, such as 2031"),
    ("x" * 65, Kind.PERSON_NAME, "65 characters: at most 64"),
    ("x" * 257, Kind.SCHOOL_NAME, "257 characters: at most 256"),
    ("Beu\x01lah", Kind.PERSON_NAME, '"\x01" is not allowed in a name'),
    ("Se\x00cret", Kind.PASSWORD, "holds a NUL character"),
    ("a\x00b", Kind.TEXT, "holds a NUL character"),
])
def test_why_a_value_is_invalid(value: str, kind: Kind, why: str) -> None:
    assert formats.why_invalid(value, kind) == why


@pytest.mark.parametrize(("value", "kind"), [
    ("13001", Kind.SIS_ID), ("o.klein@contoso.edu", Kind.USERNAME), ("Secret", Kind.PASSWORD), ("x", Kind.TEXT),
])
def test_a_valid_value_has_no_reason(value: str, kind: Kind) -> None:
    assert formats.why_invalid(value, kind) is None


def test_the_reasons_follow_the_rules_the_checks_apply() -> None:
    # Every value the vectorised rule rejects gets a reason; every value it accepts gets none.
    import pyarrow as pa

    samples = {
        Kind.SIS_ID: ["1", "a.b_c-d", "x" * 64, "x" * 65, "a b", " 1", "é", "1\u200b", "a/b"],
        Kind.USERNAME: ["ok", "o.k", "o'k!#^~", "ok@contoso.edu", ".ok", "ok.", "o..k", "@x.org", "ok@x",
                        "o k", "x" * 64, "x" * 65, "ok@-bad.org", "ok@a.b.c", "ok@a@b.org"],
        Kind.DATE: ["2024-02-29", "2023-02-29", "20240131", "1/2/2024", "01/02/2024", "2024-1-1", "x"],
        Kind.YEAR: ["2031", "31", "20311", "２０３１"],
        Kind.PERSON_NAME: ["Ann", "x" * 64, "x" * 65, "a\x01b", "a\x7fb"],
        Kind.EMAIL: ["a@b.org", "a@b", "a b@c.org", "@b.org"],
    }
    for kind, values in samples.items():
        verdicts = formats.well_formed(pa.array(values, pa.string()), kind, check_nul=False).tolist()
        assert [formats.why_invalid(v, kind) is None for v in values] == verdicts, kind


@pytest.mark.parametrize(("header", "notes"), [
    (b"SIS_ID,Name", ['column 1 is "SIS_ID": if it is this field, write its name exactly']),
    (b"Sis-Id,Nme", ['column 1 is "Sis-Id": if it is this field, write its name exactly',
                     'column 2 is "Nme": if it is this field, write its name exactly']),
    (b"School ID,Title", [None, None]),  # nothing close enough
])
def test_a_missing_header_field_names_the_field_that_is_probably_it(header: bytes, notes: list[str | None]) -> None:
    details = details_with(School_csv=header + b"\r\n10001,Contoso\r\n")
    missing = [m for m in details if m["code"] == "missingHeaderField"]
    assert [m["rows"][0].get("note") for m in missing] == notes
