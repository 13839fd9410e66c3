"""How long the HTML report takes to write and to open in a real headless Chromium.

Usage: python bench/page_bench.py [--scale L] [--repeat 3]

1. Verifies the scale's generated set with the command line (`--html`), in a fresh process.
2. Opens the page in Chromium `--repeat` times (a fresh load each time) and reads the browser's
   navigation timing: the page is usable when its load event has fired (the filters are ready).
3. Times one search over every listed row (the filter runs on Enter, synchronously), with the
   layout of what it hid and showed.
4. Does the same for the largest page the renderer makes (PageLimits: 2,000 messages, 25,000 rows
   of 200-character values): no input, however hostile, gives a bigger one.
Prints the figures as a table and writes them to bench/out/page.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `sds_core`, `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import DATA_DIR, generate  # noqa: E402
from bench.layout import SCALES  # noqa: E402
from sds_core.verification.page import PageLimits, render_page  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.browser import chromium, console  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SEARCH = """
const input = document.getElementById('filter-text');
input.value = arguments[0];
const started = performance.now();
input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
void document.body.offsetHeight;  // the layout of what the filter hid and showed, included
return [performance.now() - started, document.getElementById('filter-status').textContent];
"""
READY = "return document.readyState === 'complete' && !document.getElementById('filters').hidden"
TIMING = """
const n = performance.getEntriesByType('navigation')[0];
return [n.domContentLoadedEventEnd, n.loadEventEnd,
        document.querySelectorAll('section.message').length,
        document.querySelectorAll('section.message tbody tr').length];
"""


def largest_page() -> str:
    """The biggest page PageLimits allows: every message and row budget used up."""
    limits = PageLimits()
    per_message = limits.rows_per_page // limits.messages_per_page + 1
    details = [
        {"type": ("Error", "Warning", "Information")[n % 3], "fileName": f"file{n % 40}.csv",
         "description": f"{5000 + n} row(s) have an invalid format for the field - Column {n}",
         "code": "invalidFormat", "field": f"Column {n}", "total": 5000 + n, "truncated": True,
         "rows": [{"row": r + 2, "column": f"Column {n}", "value": f"<v{r}>" + "x" * 196} for r in range(per_message)]}
        for n in range(limits.messages_per_page)
    ]
    return render_page(details, [], title="The largest page")


def measure(driver, page: Path, repeat: int) -> dict[str, object]:
    loads, ready, searches = [], [], []
    for _ in range(repeat):
        driver.get("about:blank")
        driver.get(page.as_uri())
        WebDriverWait(driver, 120).until(lambda d: d.execute_script(READY))
        dom, load, messages, rows = driver.execute_script(TIMING)
        loads.append(dom / 1000)
        ready.append(load / 1000)
        searches.append(driver.execute_script(SEARCH, "row")[0] / 1000)
    errors = console(driver)
    return {"bytes": page.stat().st_size, "messages": messages, "rows": rows, "dom": statistics.median(loads),
            "ready": statistics.median(ready), "search": statistics.median(searches), "console": len(errors)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="L")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = DATA_DIR / args.scale
    if not (data / "expected.json").exists():
        generate(data, SCALES[args.scale])
    with tempfile.TemporaryDirectory(prefix="sds-page-bench-") as work:
        page = Path(work) / f"{args.scale}.html"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sds_core", "verify", str(data), "--html", str(page)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        cli = time.perf_counter() - started
        rendered = time.perf_counter()
        largest = Path(work) / "largest.html"
        largest.write_text(largest_page(), encoding="utf-8")
        render = time.perf_counter() - rendered
        with chromium() as driver:
            results = [(f"{args.scale} set (CLI --html: {cli:.2f} s)", measure(driver, page, args.repeat)),
                       (f"largest page (render: {render:.2f} s)", measure(driver, largest, args.repeat))]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/page_bench.py --scale {args.scale} "
        f"--repeat {args.repeat}` (median of {args.repeat} loads in headless Chromium).",
        "",
        "| page | size | messages | rows | DOM ready | usable (load event) | search over all rows | console errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results:
        lines.append(f"| {name} | {r['bytes'] / 2**20:.1f} MiB | {r['messages']:,} | {r['rows']:,} | "
                     f"{r['dom']:.2f} s | {r['ready']:.2f} s | {r['search']:.3f} s | {r['console']} |")
    text = "\n".join(lines) + "\n"
    OUT.mkdir(exist_ok=True)
    (OUT / "page.md").write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
