"""Render the quality report in a real headless browser and take a screenshot.

CI installs Debian's chromium (`apt-get install -y chromium`); without it the test skips.
Background networking, component updates and sync are off, so the page is rendered from the
file alone: a report that needed the network would still render, but the self-containment
test in test_html.py guards that separately.
"""

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from llm_normalize.pipeline import Normalizer
from llm_normalize.quality import quality_report
from llm_normalize.stores.memory import MemoryLeadStore

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def find_chromium() -> str | None:
    for name in (
        os.environ.get("CHROMIUM", ""),
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ):
        if name and (path := shutil.which(name)):
            return path
    return None


CHROMIUM = find_chromium()


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH (CI: `apt-get install -y chromium`, or set CHROMIUM)",
)
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Headless chromium renders the report of the 2000-lead sample to a non-trivial PNG."""
    assert CHROMIUM is not None
    store = MemoryLeadStore()
    store.put(json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines())
    Normalizer().run(store, force=True, limit=10_000)
    page = tmp_path / "report.html"
    page.write_text(quality_report(store).to_html(), encoding="utf-8")
    png = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1280,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    # A blank page compresses to a few kilobytes; charts and tables do not.
    assert len(data) > 30_000
