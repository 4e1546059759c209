"""Rendered pages open in a real browser: headless Chromium (Debian's ``chromium`` package).

``make test`` and ``.ci/run`` install Chromium when it is missing, so these tests never skip:
a machine without it fails here with the command that installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cxlib.report import build_report
from tests.test_report import tiny_notebooks, write_client

CHROMIUM = "/usr/bin/chromium"
ERROR_MARKERS = (
    "Traceback (most recent call last)",
    'data-mime-type="application/vnd.jupyter.stderr"',
    "jp-OutputArea-error",
)


def chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Chromium is missing: `apt-get update && apt-get install -y chromium` "
            "(make test installs it)"
        )
    return path


def screenshot(page: Path, png: Path, *, profile: Path) -> str:
    """Render ``page`` headless into ``png``; return the browser's console lines (errors)."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # Chromium logs page console messages (uncaught JS errors, failed loads) as ":CONSOLE".
    return "\n".join(line for line in done.stderr.splitlines() if ":CONSOLE" in line)


def assert_screenshot_is_not_blank(png: Path) -> None:
    from matplotlib.image import imread

    assert png.is_file() and png.stat().st_size > 5_000
    pixels = imread(str(png))[..., :3]
    ink = (pixels < 0.9).any(axis=-1).mean()  # share of pixels that are not (near) white
    assert ink > 0.005, f"{png.name} looks blank ({ink:.2%} non-white pixels)"


def assert_page_has_no_errors(html: str) -> None:
    for marker in ERROR_MARKERS:
        assert marker not in html, f"error output on the page: {marker}"


def figures(html: str) -> int:
    return len(re.findall(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/]{100}', html))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    config = write_client(root)
    notebooks = tiny_notebooks(root / "notebooks", with_failure=False)
    run = build_report(config, out=root / "reports", notebooks_dir=notebooks, progress=False)
    assert run.ok, run.failures
    return root, run


@pytest.mark.parametrize("page", ["index.html", "html/01_good.html", "html/00_summary.html"])
def test_a_report_page_renders_in_headless_chromium_without_errors(rendered, page):
    root, run = rendered
    png = root / (page.replace("/", "_") + ".png")
    console = screenshot(run.run_dir / page, png, profile=root / "profile")
    assert console == "", console
    assert_screenshot_is_not_blank(png)
    assert_page_has_no_errors((run.run_dir / page).read_text())


def test_the_reviewer_page_shows_its_figure_as_an_embedded_png(rendered):
    _, run = rendered
    assert figures((run.run_dir / "html" / "01_good.html").read_text()) == 1


def test_every_link_of_the_index_points_to_a_file_of_the_run(rendered):
    _, run = rendered
    index = (run.run_dir / "index.html").read_text()
    links = re.findall(r'href="([^"#]+)"', index)
    assert links and all((run.run_dir / link).is_file() for link in links)
