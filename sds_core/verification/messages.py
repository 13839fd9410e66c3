"""The closed catalogue of verification messages: codes, severities and exact Graph texts."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum


class Severity(StrEnum):
    """The `type` of a Graph verification message."""

    ERROR = "Error"
    WARNING = "Warning"
    INFORMATION = "Information"


class Code(StrEnum):
    """One code per row of the message table in decisions.md, in the table's order."""

    MISSING_FILE = "missingFile"
    FILE_NAME_CASE = "fileNameCase"
    UNKNOWN_FILE = "unknownFile"
    EMPTY_FILE = "emptyFile"
    NOT_UTF8 = "notUtf8"
    MISSING_HEADER_FIELD = "missingHeaderField"
    HEADER_FIELD_CASE = "headerFieldCase"
    DUPLICATE_HEADER_FIELD = "duplicateHeaderField"
    UNKNOWN_COLUMN = "unknownColumn"
    NO_DATA_ROWS = "noDataRows"
    RAGGED_ROWS = "raggedRows"
    LINE_BREAK = "lineBreak"
    TOO_MANY_ROWS = "tooManyRows"
    MISSING_DATA = "missingData"
    INVALID_FORMAT = "invalidFormat"
    DUPLICATE_VALUES = "duplicateValues"
    REFERENCE_NOT_FOUND = "referenceNotFound"
    SPECIAL_CHARACTERS = "specialCharacters"
    USERNAME_ALSO_TEACHER = "usernameAlsoTeacher"
    # The new School Data Sync's own rules (newsds.py), for profiles forwarded to it.
    UK_HEADER_FIELD = "ukHeaderField"
    DATA_NOT_SUPPORTED = "dataNotSupported"
    NOT_IN_LIST_OF_VALUES = "notInListOfValues"
    CLASS_FILES_DROPPED = "classFilesDropped"
    # Bounded input (header.py, csvread.py).
    HEADER_TOO_LONG = "headerTooLong"

    @property
    def rank(self) -> int:
        """Position in the message table (1-based)."""
        return list(Code).index(self) + 1


TEMPLATES: dict[Code, str] = {
    Code.MISSING_FILE: "The required file was not uploaded.",
    Code.FILE_NAME_CASE: "{n} files differ from this name only in letter case: {names}",
    Code.UNKNOWN_FILE: "The file is not part of the SDS format and was ignored.",
    Code.EMPTY_FILE: "The file is empty.",
    Code.NOT_UTF8: "The file is not UTF-8 encoded (first invalid byte on line {line}).",
    Code.MISSING_HEADER_FIELD: "The header is missing the required field - {field}",
    Code.HEADER_FIELD_CASE: 'The header field "{given}" must be written exactly "{field}"',
    Code.DUPLICATE_HEADER_FIELD: "The header contains the field more than once - {field}",
    Code.UNKNOWN_COLUMN: "The column is not part of the SDS format and was ignored - {field}",
    Code.NO_DATA_ROWS: "The file has a header but no data rows.",
    Code.RAGGED_ROWS: "{n} row(s) have a number of fields different from the header",
    Code.LINE_BREAK: "{n} row(s) have a line break inside the field - {field}",
    Code.TOO_MANY_ROWS: "{n} row(s) exceed the maximum of {limit} rows per file",
    Code.MISSING_DATA: "{n} row(s) have missing data for the field - {field}",
    Code.INVALID_FORMAT: "{n} row(s) have an invalid format for the field - {field}",
    Code.DUPLICATE_VALUES: "{n} duplicates found in column {field} which requires values to be Unique.",
    Code.REFERENCE_NOT_FOUND: "{n} row(s) have referenced data not found in source. Field - {field}",
    Code.SPECIAL_CHARACTERS: "{n} row(s) have characters that will be replaced with _ in the field - {field}",
    Code.USERNAME_ALSO_TEACHER: "{n} row(s) have a Username that is also used in teacher.csv",
    Code.UK_HEADER_FIELD: 'The header field "{given}" is a UK name, which School Data Sync does not take: write "{field}"',
    Code.DATA_NOT_SUPPORTED: "{n} row(s) have data that School Data Sync does not take in the field - {field}",
    Code.NOT_IN_LIST_OF_VALUES: "{n} row(s) have a value that is not in the School Data Sync list of values for the field - {field}",
    Code.CLASS_FILES_DROPPED: "The file was part of earlier runs and is missing now: School Data Sync will mark its records inactive.",
    Code.HEADER_TOO_LONG: "The header is longer than {limit} bytes and the file was not read.",
}

# The v2.1 texts follow the new SDS's own validation messages: "When trying to validate required file
# orgs.csv encountered RequiredFileNotFound error." (Graph, industrydata-filevalidateoperation) for a
# file, "The value 6 in GradeLevelCode for 3110_10 isn't found in RefGradeLevel. Correct source
# system." (SDS errors page) for a record. Only RequiredFileNotFound is Microsoft's own code; the
# other codes and every count-of-records text are written in that style (docs/sds-v2.1-rules.md).
_FILE = "When trying to validate file {file} encountered "
_FIX = ". Correct source system."
TEMPLATES_V21: dict[Code, str] = {
    Code.MISSING_FILE: "When trying to validate required file {file} encountered RequiredFileNotFound error.",
    Code.FILE_NAME_CASE: _FILE + "FileNameCaseMismatch error: it was uploaded as {names}, and file names "
                                 "are case-sensitive.",
    Code.UNKNOWN_FILE: _FILE + "UnknownFile error: it isn't part of the SDS v2.1 format and was ignored.",
    Code.EMPTY_FILE: _FILE + "EmptyFile error.",
    Code.NOT_UTF8: _FILE + "InvalidEncoding error: CSV files must be in UTF-8 format (first invalid byte on "
                           "line {line}).",
    Code.MISSING_HEADER_FIELD: _FILE + "RequiredHeaderNotFound error. Header - {field}",
    Code.HEADER_FIELD_CASE: _FILE + 'HeaderCaseMismatch error: column headers are case-sensitive, write '
                                    '"{field}" for "{given}".',
    Code.DUPLICATE_HEADER_FIELD: _FILE + "DuplicateHeader error. Header - {field}",
    Code.UNKNOWN_COLUMN: _FILE + "UnknownHeader error: the column isn't part of the SDS v2.1 format and was "
                                 "ignored. Header - {field}",
    Code.NO_DATA_ROWS: _FILE + "NoRecords error: the file has a header but no records.",
    Code.RAGGED_ROWS: "{n} record(s) have a number of fields different from the header; CSV files must be RFC "
                      "compliant.",
    Code.LINE_BREAK: "{n} record(s) have a line break in {field}; line breaks aren't accepted in incoming data"
                     + _FIX,
    Code.TOO_MANY_ROWS: "{n} record(s) exceed the maximum of {limit} records per file.",
    Code.MISSING_DATA: "{n} record(s) have no value for the required field {field}" + _FIX,
    Code.INVALID_FORMAT: "{n} record(s) have a value in {field} that isn't a valid {kind}" + _FIX,
    Code.DUPLICATE_VALUES: "{n} record(s) repeat a value in {field}, which must be unique" + _FIX,
    Code.REFERENCE_NOT_FOUND: "{n} record(s) have a value in {field} that isn't found in {target}" + _FIX,
    Code.NOT_IN_LIST_OF_VALUES: "{n} record(s) have a value in {field} that isn't found in {list}" + _FIX,
    Code.HEADER_TOO_LONG: _FILE + "HeaderTooLong error: the header is longer than {limit} bytes and the file "
                                  "was not read.",
}
STYLES: dict[str, dict[Code, str]] = {"v1": TEMPLATES, "v2.1": {**TEMPLATES, **TEMPLATES_V21}}

SEVERITIES: dict[Code, Severity] = {
    **{code: Severity.ERROR for code in Code},
    Code.UNKNOWN_FILE: Severity.WARNING,
    Code.UNKNOWN_COLUMN: Severity.WARNING,
    Code.NO_DATA_ROWS: Severity.WARNING,
    Code.SPECIAL_CHARACTERS: Severity.INFORMATION,
    Code.USERNAME_ALSO_TEACHER: Severity.WARNING,
    Code.DATA_NOT_SUPPORTED: Severity.WARNING,
    Code.NOT_IN_LIST_OF_VALUES: Severity.WARNING,
    Code.CLASS_FILES_DROPPED: Severity.WARNING,
}

@dataclass(frozen=True)
class Row:
    """One offending row behind a message: spreadsheet row number (header = 1), column, value."""

    row: int | None
    column: str | None
    value: str | None
    note: str | None = None

    def to_json(self) -> dict[str, object]:
        """JSON object, without empty members."""
        out: dict[str, object] = {"row": self.row, "column": self.column, "value": self.value}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Message:
    """A verification message with the rows behind it (capped) and their true total."""

    code: Code
    file_name: str
    description: str
    field: str | None = None
    severity: Severity | None = None
    total: int = 0
    rows: list[Row] = dataclass_field(default_factory=list)
    order: tuple = ()
    note: str | None = None
    """What the cause is and how to fix it, when more can be said than the Graph text says."""

    def __post_init__(self) -> None:
        if self.severity is None:
            self.severity = SEVERITIES[self.code]

    def graph(self) -> dict[str, str]:
        """The Graph `educationFileSynchronizationVerificationMessage` JSON."""
        return {"type": str(self.severity), "fileName": self.file_name, "description": self.description}

    def to_json(self) -> dict[str, object]:
        """The message with its code, field, note (when it has one), total and rows: the row-level detail."""
        out: dict[str, object] = {**self.graph(), "code": str(self.code), "field": self.field}
        if self.note:
            out["note"] = self.note
        out.update(total=self.total, truncated=self.total > len(self.rows),
                   rows=[r.to_json() for r in self.rows])
        return out


def render(code: Code, style: str = "v1", /, **values: object) -> str:
    """The exact description text for a code, in a format's style (values it does not quote are unused)."""
    return STYLES[style][code].format(**values)
