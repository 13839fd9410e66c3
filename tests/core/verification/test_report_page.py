"""The HTML report page: its markup, its limits, and how it behaves in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from sds_core.cli import main
from sds_core.verification.page import CONTENT_SECURITY_POLICY, META_POLICY, PageLimits, render_page
from tests.browser import chromium, console, screenshot
from tests.core.builders import MIN_REQUIRED
from tests.core.verification.mistakes import MISTAKES
from tests.core.verification.report_data import INJECTED_IMAGE, INJECTED_SCRIPT, hostile_set
from tests.paths import GOLDEN

INVALID = "row(s) have an invalid format for the field -"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def write_page(capsys: pytest.CaptureFixture[str], folder: Path, page: Path) -> list[dict[str, object]]:
    """Run the CLI with --html and --details; the details it printed."""
    main(["verify", str(folder), "--html", str(page), "--details"])
    return json.loads(capsys.readouterr().out)["details"]


def shown_messages(driver: WebDriver) -> list[tuple[str, str]]:
    """(file, severity) of each message section on screen."""
    return [
        (s.get_attribute("data-file"), s.get_attribute("data-severity"))
        for s in driver.find_elements(By.CSS_SELECTOR, "section.message")
        if s.is_displayed()
    ]


def shown_rows(driver: WebDriver) -> list[list[str]]:
    """The cells of each detail row on screen."""
    return [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in driver.find_elements(By.CSS_SELECTOR, "section.message tbody tr")
        if row.is_displayed()
    ]


def status_text(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "filter-status").text


def test_the_page_in_chromium(browser: WebDriver, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    details = write_page(capsys, hostile_set(tmp_path / "set"), page)
    browser.get(page.as_uri())

    # The verdict's counts are the JSON's.
    counts = Counter(str(m["type"]) for m in details)
    on_screen = {s: browser.find_element(By.ID, f"count-{s}").text for s in ("Error", "Warning", "Information")}
    assert on_screen == {"Error": f"{counts['Error']} Errors", "Warning": f"{counts['Warning']} Warning",
                         "Information": "0 Information"} == {"Error": "4 Errors", "Warning": "1 Warning",
                                                             "Information": "0 Information"}
    assert browser.find_element(By.CSS_SELECTOR, "#verdict .headline").text == "Sync blocked"
    assert shown_messages(browser) == [(m["fileName"], m["type"]) for m in details]
    assert status_text(browser) == "5 of 5 messages shown"

    # Values are text: the injected markup is shown, never run; control characters are visible.
    assert browser.execute_script("return window.__pwned") is None
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check
    assert browser.execute_script("return document.images.length + document.scripts.length") == 1
    username = "is not allowed: a Username has only ASCII letters, digits and ' . - _ ! # ^ ~"
    assert shown_rows(browser) == [
        ["2", "Username", "=HYPERLINK(1)", f'"=" {username}'],
        ["4", "Username", INJECTED_IMAGE, f'"<" {username}'],
        ["3", "First Name", "Beu<SOH>lah", '"<SOH>" is not allowed in a name'],
        ["2", "Password", "***", "holds a NUL character"],
        ["46", "Section SIS ID", INJECTED_SCRIPT,
         '"<" is not allowed: a SIS ID has only ASCII letters, digits, ".", "_" and "-"'],
    ]
    assert "P\x00ssword" not in browser.page_source and "P&lt;NUL&gt;ssword" not in browser.page_source

    # Filters: by file, by severity, and a search that finds one row.
    files = Select(browser.find_element(By.ID, "filter-file"))
    files.select_by_value("student.csv")
    assert shown_messages(browser) == [("student.csv", "Error")] * 3
    assert status_text(browser) == "3 of 5 messages shown"
    files.select_by_value("")
    browser.find_element(By.CSS_SELECTOR, "input[name=severity][value=Error]").click()
    assert shown_messages(browser) == [("notes.csv", "Warning")]
    browser.find_element(By.CSS_SELECTOR, "input[name=severity][value=Error]").click()
    search = browser.find_element(By.ID, "filter-text")
    search.send_keys("beu")
    WebDriverWait(browser, 5).until(lambda d: "match" in status_text(d))
    assert status_text(browser) == "1 of 5 messages shown, 1 listed rows match"
    assert shown_messages(browser) == [("student.csv", "Error")]
    assert shown_rows(browser) == [["3", "First Name", "Beu<SOH>lah", '"<SOH>" is not allowed in a name']]
    search.clear()
    search.send_keys("\n")
    WebDriverWait(browser, 5).until(lambda d: status_text(d) == "5 of 5 messages shown")
    assert len(shown_rows(browser)) == 5

    # The chart: a bar per file; a click filters by its file.
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart .bar")
    assert [b.get_attribute("data-file") for b in bars] == ["notes.csv", "student.csv", "studentenrollment.csv"]
    bars[2].find_element(By.TAG_NAME, "rect").click()
    assert files.first_selected_option.get_attribute("value") == "studentenrollment.csv"
    assert shown_messages(browser) == [("studentenrollment.csv", "Error")]

    # The files table: name as uploaded, variant, rows, size.
    table = [[c.text for c in r.find_elements(By.TAG_NAME, "td")]
             for r in browser.find_elements(By.CSS_SELECTOR, "#files tbody tr")]
    assert [r[:3] for r in table] == [
        ["School.csv", "US", "2"], ["Section.csv", "US", "2"], ["Student.csv", "US", "22"],
        ["StudentEnrollment.csv", "US", "45"], ["Teacher.csv", "US", "2"], ["TeacherRoster.csv", "US", "2"],
    ]
    files.select_by_value("")
    screenshot(browser, "report-page.png")
    assert console(browser) == []


def test_a_clean_set_says_sync_can_start(browser: WebDriver, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "clean.html"
    assert write_page(capsys, MIN_REQUIRED, page) == []
    browser.get(page.as_uri())
    assert browser.find_element(By.CSS_SELECTOR, "#verdict .headline").text == "Sync can start"
    assert [browser.find_element(By.ID, f"count-{s}").text for s in ("Error", "Warning", "Information")] == [
        "0 Errors", "0 Warnings", "0 Information"]
    assert browser.find_element(By.ID, "no-messages").text == "Nothing was found: no message."
    assert console(browser) == []


def test_inline_script_and_style_are_the_ones_the_policy_allows() -> None:
    page = render_page([], [], title="t")
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert len(scripts) == len(styles) == 1

    def source(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert META_POLICY == (f"default-src 'none'; script-src {source(scripts[0])}; style-src {source(styles[0])}; "
                           "img-src data:; base-uri 'none'; form-action 'none'")
    assert CONTENT_SECURITY_POLICY == META_POLICY + "; frame-ancestors 'none'"
    assert f'<meta http-equiv="Content-Security-Policy" content="{html.escape(META_POLICY)}">' in page
    assert " style=" not in page and " on" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S)


def test_a_message_section_escapes_everything() -> None:
    message = {
        "type": "Error", "fileName": 'a"b<c>.csv', "description": "2 row(s) & <more>", "code": "invalidFormat",
        "field": "User\x00name", "total": 3, "truncated": True,
        "rows": [{"row": 2, "column": "Username", "value": '<b>"x"</b>'},
                 {"row": 7, "column": "Username", "value": "a\u202eb", "note": "n&m"}],
    }
    page = render_page([message], [], title="<t>")
    section = re.search(r'<section class="message".*?</section>', page, flags=re.S)
    assert section is not None and section.group() == (
        '<section class="message" id="message-1" data-file="a&quot;b&lt;c&gt;.csv" data-severity="Error" '
        'data-total="3"><header><h3><span class="sev Error">Error</span><span class="file">a&quot;b&lt;c&gt;.csv'
        '</span><span class="description">2 row(s) &amp; &lt;more&gt;</span></h3><p class="meta">3 rows in total, '
        '2 listed; 1 more counted but not listed; field User<mark class="ctl" title="U+0000">&lt;NUL&gt;</mark>name</p>'
        '</header><table><thead><tr><th class="num">Row</th><th>Column</th><th>Value</th><th>Note</th></tr></thead>'
        '<tbody><tr><td class="num">2</td><td>Username</td><td class="value">&lt;b&gt;&quot;x&quot;&lt;/b&gt;</td>'
        '<td class="note"></td></tr><tr><td class="num">7</td><td>Username</td><td class="value">a<mark class="ctl" '
        'title="U+202E">&lt;U+202E&gt;</mark>b</td><td class="note">n&amp;m</td></tr></tbody></table></section>'
    )
    assert "<title>&lt;t&gt;</title>" in page and "<h1>&lt;t&gt;</h1>" in page
    assert '<option value="a&quot;b&lt;c&gt;.csv">a&quot;b&lt;c&gt;.csv</option>' in page
    # Where markup cannot go (a title, an option, SVG text) invisible characters are plain text.
    titled = render_page([{**message, "fileName": "x\x01.csv"}], [], title="a\x01b")
    assert "<title>a&lt;SOH&gt;b</title>" in titled
    assert '<option value="x&lt;SOH&gt;.csv">x&lt;SOH&gt;.csv</option>' in titled
    assert "<title>x&lt;SOH&gt;.csv: 1 message (1 Error), 3 rows in their totals</title>" in titled


def test_a_value_of_spaces_says_how_many() -> None:
    message = {"type": "Error", "fileName": "school.csv", "description": "d", "total": 2,
               "rows": [{"row": 4, "column": "SIS ID", "value": " "}, {"row": 9, "column": "SIS ID", "value": "   "}]}
    cells = re.findall(r'<td class="value">(.*?)</td>', render_page([message], [], title="t"))
    assert cells == ['<mark class="ctl" title="spaces only">(1 space)</mark>',
                     '<mark class="ctl" title="spaces only">(3 spaces)</mark>']


def test_a_password_column_is_masked_even_if_the_detail_was_not() -> None:
    message = {"type": "Error", "fileName": "student.csv", "description": "d", "total": 1,
               "rows": [{"row": 2, "column": "Password", "value": "Secret1!"}]}
    page = render_page([message], [], title="t")
    assert "Secret1!" not in page and '<td class="value">***</td>' in page


def test_what_a_page_renders_is_bounded() -> None:
    def message(n: int) -> dict[str, object]:
        return {"type": "Warning", "fileName": f"f{n}.csv", "description": f"m{n}", "total": 9,
                "rows": [{"row": r, "column": "C", "value": "v" * 30} for r in range(5)]}

    limits = PageLimits(rows_per_message=2, rows_per_page=3, messages_per_page=3, value_chars=10, chart_files=2)
    page = render_page([message(n) for n in range(4)], [], title="t", limits=limits)
    metas = re.findall(r'<p class="meta">(.*?)</p>', page)
    assert metas == [
        "9 rows in total, 5 listed; 4 more counted but not listed; the first 2 shown here (the CSV report has every listed row)",
        "9 rows in total, 5 listed; 4 more counted but not listed; the first 1 shown here (the CSV report has every listed row)",
        "9 rows in total, 5 listed; 4 more counted but not listed; the first 0 shown here (the CSV report has every listed row)",
    ]
    assert page.count('<td class="value">') == 3
    assert '<td class="value">vvvvvvvvvv… (30 characters)</td>' in page
    assert ('<p class="note" id="messages-not-shown">1 more messages are not shown on this page; '
            "the JSON and CSV reports have them all.</p>") in page
    assert page.count('<g class="bar"') == 2 and "2 more files with messages are not drawn." in page
    assert "<strong>4</strong> Warnings" in page  # the verdict counts every message, drawn or not


# The page reads without the docs: units, profile, variant, notes and advice in place.

SEMICOLONS = ("The header is separated by semicolons (;), not commas: Excel separates with the list separator of "
              "the computer's region. Set it to a comma (Windows: Region > Additional settings > List separator), "
              'then save the file again as "CSV UTF-8 (Comma delimited)".')


def test_the_page_explains_itself_in_chromium(browser: WebDriver, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    page = tmp_path / "references.html"
    write_page(capsys, GOLDEN / "17-reference-not-found", page)
    browser.get(page.as_uri())
    text = lambda css: browser.find_element(By.CSS_SELECTOR, css).text  # noqa: E731
    assert text("#chart").startswith("student.csv") and text("h2:nth-of-type(1)") == (
        "Where the problems are: messages per file")
    assert text("#chart-units") == (
        "Each bar counts the messages about one file, by severity, not rows: one message stands for every row "
        "with the same problem in one column, and lists them below. Point at a bar for its row totals; click it to "
        "show that file's messages.")
    assert [t.get_attribute("textContent") for t in browser.find_elements(By.CSS_SELECTOR, "svg.chart title")] == [
        "student.csv: 1 message (1 Error), 1 row in their totals",
        "studentenrollment.csv: 1 message (1 Error), 2 rows in their totals"]
    facts = {d.find_element(By.TAG_NAME, "dt").text: d.find_element(By.TAG_NAME, "dd").text
             for d in browser.find_elements(By.CSS_SELECTOR, ".facts div")}
    assert facts["Profile"] == ("none (no --profile FILE.json was given: no accounts are created, so First Name, "
                                "Last Name and Password may be empty, and every optional column is checked)")
    assert text("#files thead th") == "Name in the folder"
    assert text("#variant-note") == (
        "Variant: which header names a file uses, read from its header. US: SIS ID, School SIS ID, Section SIS ID, "
        "Zip. UK: ID or DfE Number, School DfE Number, Section ID, Postal Code. Each file is read as its own "
        "variant, so a set may mix them; — means no header was read. Rows: data rows, the header not counted.")
    cell = browser.find_element(By.CSS_SELECTOR, "#files tbody tr td:nth-child(2)")
    assert (cell.text, cell.get_attribute("title")) == ("US", "US header names: SIS ID, School SIS ID, Section SIS ID, Zip")
    assert text("#verdict p:nth-of-type(2)") == (
        "Fix the Errors in the folder's files and verify the folder again: while an Error remains, start would "
        "answer 400 for these files and queue nothing.")
    assert shown_rows(browser) == [
        ["5", "School SIS ID", "10009", "not in the SIS ID column of school.csv"],
        ["2", "Section SIS ID", "99999", "not in the SIS ID column of section.csv"],
        ["3", "Section SIS ID", "99999", "not in the SIS ID column of section.csv"],
    ]
    assert browser.find_elements(By.ID, "what-to-do") == []  # row notes stay with their rows
    assert console(browser) == []

    page = tmp_path / "semicolons.html"
    write_page(capsys, MISTAKES / "semicolons", page)
    browser.get(page.as_uri())
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#what-to-do li")] == [
        f"school.csv: {SEMICOLONS}"]
    assert [p.text for p in browser.find_elements(By.CSS_SELECTOR, "section.message p.hint")] == [
        f"What to do: {SEMICOLONS}"] * 3
    screenshot(browser, "report-page-semicolons.png")
    assert console(browser) == []


def test_a_folder_s_advice_and_wording_on_the_page(browser: WebDriver, capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    page = tmp_path / "workbooks.html"
    write_page(capsys, MISTAKES / "workbooks", page)
    browser.get(page.as_uri())
    items = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#what-to-do li")]
    assert items == ["The folder holds no CSV file but 3 Excel workbooks: school.xlsx, section.xlsx, student.xlsx. "
                     'Save each sheet as "CSV UTF-8 (Comma delimited)" with the file names school.csv, section.csv, '
                     "teacher.csv, student.csv, studentenrollment.csv, teacherroster.csv (Excel saves only the sheet "
                     "on screen: once per sheet)."]
    descriptions = {d.text for d in browser.find_elements(By.CSS_SELECTOR, "section.message .description")}
    assert descriptions == {"The required file is not in the folder."}
    assert "uploaded" not in browser.find_element(By.TAG_NAME, "main").text
    assert console(browser) == []


def test_the_app_s_page_keeps_the_upload_wording_and_shows_the_notes() -> None:
    message = {"type": "Error", "fileName": "school.csv", "description": "The required file was not uploaded.",
               "code": "missingFile", "field": None, "note": "School.xlsx is an Excel workbook: save it <now>.",
               "total": 0, "truncated": False, "rows": []}
    page = render_page([message], [{"fileName": "section.csv", "uploadedName": "Section.csv", "variant": "UK",
                                    "rows": 2, "size": 10}], title="t")
    assert ('<section class="message" id="message-1" data-file="school.csv" data-severity="Error" data-total="0">'
            '<header><h3><span class="sev Error">Error</span><span class="file">school.csv</span>'
            '<span class="description">The required file was not uploaded.</span></h3>'
            '<p class="meta">about the whole file</p><p class="hint"><strong>What to do:</strong> School.xlsx is an '
            "Excel workbook: save it &lt;now&gt;.</p></header></section>") in page
    assert ('<section class="advice" id="what-to-do"><h2>What to do</h2><ul><li><code>school.csv</code>: '
            "School.xlsx is an Excel workbook: save it &lt;now&gt;.</li></ul></section>") in page
    assert "Fix the Errors, upload the files again, then call <code>start</code>" in page
    assert "<th>Name as uploaded</th>" in page
    assert ('<td title="UK header names: ID or DfE Number, School DfE Number, Section ID, Postal Code">UK</td>'
            in page)
    folder = render_page([message], [], title="t", origin="folder", advice="The folder is empty.")
    assert '<span class="description">The required file is not in the folder.</span>' in folder
    assert ('<ul><li>The folder is empty.</li></ul>' in folder  # the folder's advice stands for the file's note
            and "upload" not in re.sub(r"<script>.*?</script>", "", folder, flags=re.S))


def test_facts_carry_their_meaning() -> None:
    page = render_page([], [], title="t", facts=[("Profile", "none", "no <profile>"), ("Took", "1 s")])
    assert ('<dl class="facts"><div><dt>Profile</dt><dd>none <span class="explain">(no &lt;profile&gt;)</span></dd>'
            "</div><div><dt>Took</dt><dd>1 s</dd></div></dl>") in page


def test_what_to_do_is_bounded() -> None:
    notes = [{"type": "Warning", "fileName": f"f{n}.csv", "description": "d", "note": f"n{n}", "total": 0, "rows": []}
             for n in range(5)]
    page = render_page(notes, [], title="t", limits=PageLimits(advice_items=2))
    section = re.search(r'<section class="advice".*?</section>', page, flags=re.S)
    assert section is not None and section.group() == (
        '<section class="advice" id="what-to-do"><h2>What to do</h2><ul><li><code>f0.csv</code>: n0</li>'
        '<li><code>f1.csv</code>: n1</li></ul><p class="note">3 more notes are shown with their messages.</p>'
        "</section>")
