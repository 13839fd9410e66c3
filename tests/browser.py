"""A real headless Chromium (Debian's chromium + chromium-driver) driven by selenium, for page tests.

Missing browser packages fail the tests that need them, with the command that installs them:
`.ci/run` installs both, so a skipped browser test could never hide a broken page.
"""

from __future__ import annotations

import base64
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service


CHROMIUM = ("/usr/bin/chromium", "chromium")
CHROMEDRIVER = ("/usr/bin/chromedriver", "chromedriver")
OUT = Path(__file__).resolve().parent / "out"  # screenshots for reviewers; git-ignored
INSTALL = "apt-get install -y chromium chromium-driver (bash .ci/run installs them)"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
)


def _find(candidates: tuple[str, ...]) -> str | None:
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium with its own profile folder, its console kept for the tests."""
    binary, driver_path = _find(CHROMIUM), _find(CHROMEDRIVER)
    if binary is None or driver_path is None:
        missing = " and ".join(n for n, p in (("chromium", binary), ("chromedriver", driver_path)) if p is None)
        pytest.fail(f"{missing} not found: the page tests need a real browser; install with {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="sds-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def console(driver: webdriver.Chrome) -> list[dict[str, object]]:
    """The browser console's entries since the last call (CSP violations and script errors land here)."""
    return list(driver.get_log("browser"))


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """A full-page screenshot under tests/out/ (git-ignored) for a reviewer to look at."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@contextmanager
def serve(body: bytes, headers: Mapping[str, str]) -> Iterator[str]:
    """A loopback HTTP server answering every GET with one response (as the app sent it)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/report"
    finally:
        server.shutdown()
        server.server_close()
