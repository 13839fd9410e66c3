"""`pip install .` gives the verifier and its `sds-verify` command, with nothing but pyarrow and numpy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(tmp_path: Path) -> zipfile.ZipFile:
    """The wheel of a copy of the project (no network: the test venv's setuptools builds it)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "sds_core", source / "sds_core", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_the_wheel_holds_the_verifier_its_page_and_its_command(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = wheel.namelist()
    code = sorted(n for n in names if not n.startswith("sds_classic_functions-"))
    expected = sorted(
        str(p.relative_to(ROOT)) for p in [ROOT / "sds_core/__init__.py", ROOT / "sds_core/__main__.py",
                                           ROOT / "sds_core/cli.py", ROOT / "sds_core/text.py",
                                           *(ROOT / "sds_core/verification").rglob("*"),
                                           *(ROOT / "sds_core/conversion").rglob("*")]
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert code == expected
    assert {"sds_core/verification/page/page.css", "sds_core/verification/page/page.js"} <= set(code)
    info = next(n.rsplit("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert metadata.get_all("Requires-Dist") == ["pyarrow>=26.0.1", "numpy>=2.4.6"]
    assert metadata["License"] == "MIT"
    assert wheel.read(f"{info}/entry_points.txt").decode().split() == [
        "[console_scripts]", "sds-convert", "=", "sds_core.cli:convert_main",
        "sds-verify", "=", "sds_core.cli:verify_main"]


def test_the_command_line_imports_nothing_else() -> None:
    probe = (
        "import sys, sysconfig\n"
        "before = set(sys.modules)\n"
        "import sds_core.cli, sds_core.verification.page\n"
        "installed = sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']\n"
        "print(' '.join(sorted({n.split('.')[0] for n, m in sys.modules.items() if n not in before\n"
        "    and str(getattr(m, '__file__', '') or '').startswith(installed)})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.split() == ["numpy", "pyarrow"]


def test_the_pins_of_the_verifier_are_those_of_the_app_lock() -> None:
    locked = dict(
        line.split(" ")[0].split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith(("pyarrow==", "numpy=="))
    )
    assert [f"{name}>={version}" for name, version in sorted(locked.items(), reverse=True)] == [
        "pyarrow>=26.0.1", "numpy>=2.4.6"]
