"""The documentation site (docs/mkdocs.yml) builds offline, without a single warning."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import cxlib
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def _hooks():
    spec = importlib.util.spec_from_file_location("cxlib_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_site_builds_in_strict_mode_with_an_api_page_per_module(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=DOCS,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "WARNING" not in output, output[-3000:]
    for module in sorted(cxlib._SUBMODULES):
        page = site / "api" / f"{module}.html"
        assert page.is_file(), module
    # mkdocstrings rendered the numpydoc sections, not the raw docstring.
    clv = (site / "api" / "clv.html").read_text(encoding="utf-8")
    assert "PurchaseModel" in clv and "Parameters" in clv and "``" not in clv
    changelog = (site / "changelog.html").read_text(encoding="utf-8")
    assert cxlib.__version__.split(".dev")[0] in changelog


def test_the_gallery_lists_the_newest_finished_demo_run(tmp_path):
    hooks = _hooks()
    reports = tmp_path / "demo"
    assert hooks.latest_demo_run(reports) is None
    assert "make report" in hooks._gallery_markdown(None)
    for name, status in (
        ("20260101T000000Z-aaaaaaaa", "complete"),
        ("20260102T000000Z-bbbbbbbb", "failed"),
        ("20260103T000000Z-cccccccc.partial", "running"),
    ):
        run = reports / name
        (run / "html").mkdir(parents=True)
        (run / "index.html").write_text("<html></html>")
        (run / "html" / "01_x.html").write_text("<html></html>")
        manifest = {"status": status, "cxlib_version": "1", "notebooks": [{"name": "01_x"}]}
        (run / "manifest.json").write_text(json.dumps(manifest))
    latest = hooks.latest_demo_run(reports)
    assert latest.name == "20260102T000000Z-bbbbbbbb"  # a .partial run is not finished
    text = hooks._gallery_markdown(latest)
    assert "status failed" in text and 'href="gallery/demo/html/01_x.html"' in text


def test_pages_that_show_a_readme_section_get_its_current_text(tmp_path):
    hooks = _hooks()
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Add a client\n\n1. Copy it.\n\n## Next\n\nother\n")
    assert hooks.readme_section("Add a client", readme) == "1. Copy it.\n"
    with pytest.raises(ValueError, match="no section '## Missing'"):
        hooks.readme_section("Missing", readme)
    for page in ("clients.md", "report.md"):  # every marker names a real README section
        for title in re.findall(r"<!-- README: (.+?) -->", (DOCS / "content" / page).read_text()):
            assert hooks.readme_section(title).strip()
