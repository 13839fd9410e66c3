"""GET .../verificationReport as a page: served with a strict policy, and working under it in Chromium."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from sds_app.blueprints import verification
from sds_core.verification.page import CONTENT_SECURITY_POLICY
from tests.app.fixtures import AppEnv
from tests.app.flow import create_profile, report, upload_and_verify
from tests.app.helpers import ROOT, Answer, envelope, request
from tests.browser import chromium, console, screenshot, serve
from tests.core.builders import sample_files
from tests.core.verification.report_data import INJECTED_IMAGE, INJECTED_SCRIPT, hostile_set

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def html_report(env: AppEnv, profile_id: str, query: str = "", headers: dict[str, str] | None = None) -> Answer:
    """GET .../verificationReport answered as a page; its Content-Type as the host writes it."""
    response = verification.verification_report(request(
        "GET", f"{ROOT}/{profile_id}/verificationReport{query}", route={"id": profile_id},
        token=env.token(), headers=headers))
    assert (response.status_code, response.mimetype, response.charset) == (200, "text/html", "utf-8")
    sent = {k: v for k, v in response.headers.items() if k in PAGE_HEADERS}
    return Answer(200, {**sent, "Content-Type": "text/html; charset=utf-8"}, response.get_body())


def test_the_report_page_is_served_and_works_under_its_policy(
    private_env: AppEnv, browser: WebDriver, tmp_path: Path
) -> None:
    profile_id = create_profile(private_env)
    files = sample_files(hostile_set(tmp_path / "set"))
    upload_and_verify(private_env, profile_id, files)
    as_json = report(private_env, profile_id).json
    page = html_report(private_env, profile_id, "?$format=html")
    assert page.headers == {**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    assert html_report(private_env, profile_id, headers={"Accept": "text/html,*/*;q=0.8"}).raw == page.raw

    with serve(page.raw, page.headers) as url:
        browser.get(url)
        counts = Counter(m["type"] for m in as_json["messages"])
        assert [browser.find_element(By.ID, f"count-{s}").get_attribute("data-count")
                for s in ("Error", "Warning", "Information")] == [
            str(counts["Error"]), str(counts["Warning"]), str(counts["Information"])] == ["4", "1", "0"]
        assert browser.find_element(By.TAG_NAME, "h1").text == "Verification report: District CSV profile"
        # The filters are the script's work: they answer only if the policy let it run.
        Select(browser.find_element(By.ID, "filter-file")).select_by_value("studentenrollment.csv")
        shown = [s.get_attribute("data-file") for s in browser.find_elements(By.CSS_SELECTOR, "section.message")
                 if s.is_displayed()]
        assert shown == ["studentenrollment.csv"]
        assert browser.find_element(By.ID, "filter-status").text == "1 of 5 messages shown"
        Select(browser.find_element(By.ID, "filter-file")).select_by_value("")
        values = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "td.value")]
        assert INJECTED_IMAGE in values and INJECTED_SCRIPT in values
        assert browser.execute_script("return window.__pwned") is None
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - reading it is the check
        files_shown = [r.find_element(By.TAG_NAME, "td").text
                       for r in browser.find_elements(By.CSS_SELECTOR, "#files tbody tr")]
        assert files_shown == [
            "School.csv", "Section.csv", "Student.csv", "StudentEnrollment.csv", "Teacher.csv", "TeacherRoster.csv"]
        screenshot(browser, "report-route.png")
        assert console(browser) == []


def test_a_profile_not_verified_yet_gets_a_page_saying_so(private_env: AppEnv, browser: WebDriver) -> None:
    profile_id = create_profile(private_env)
    page = html_report(private_env, profile_id, "?$format=HTML")
    with serve(page.raw, page.headers) as url:
        browser.get(url)
        assert browser.find_element(By.CSS_SELECTOR, "#verdict .headline").text == "Not verified yet"
        assert console(browser) == []


def test_another_format_is_a_bad_request(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    answer = report(private_env, profile_id, "?$format=xml")
    assert answer.status == 400
    assert answer.json == envelope(answer, "badRequest", "$format must be json, csv or html.")
    assert report(private_env, profile_id, "?$format=json").json["state"] == "notVerified"
