"""MkDocs hooks for the cxlib site (docs/mkdocs.yml).

* one API page per cxlib package (``cxlib._SUBMODULES``) and per module a reader uses directly
  (``API_ORDER``), added to the "API reference" section, so a new package is documented without
  editing mkdocs.yml;
* the changelog page shows the repository's CHANGELOG.md, and a ``<!-- README: Title -->`` line
  the README's section "## Title", so the site and the README cannot drift apart;
* the gallery shows the latest finished demo report under ``reports/demo/`` (``make report``),
  copied into the site so its pages open from the built site.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
API_SECTION = "API reference"
# The order a reader meets the modules in; modules not listed follow alphabetically.
API_ORDER = (
    "run.client",
    "data",
    "settings.config",
    "customers",
    "segmentation",
    "segmentation.wallet",
    "segmentation.trend",
    "segmentation.plays",
    "churn",
    "nps",
    "feedback",
    "clv",
    "run.value",
    "experiments",
    "plots",
    "report.present",
    "report.headlines",
    "report.cards",
    "report.actions",
    "report",
    "report.pages",
    "report.audit",
    "demo",
    "data.datasets",
)
GALLERY_DIR = "gallery/demo"


def _modules() -> list[str]:
    import cxlib

    return list(API_ORDER) + sorted(set(cxlib._SUBMODULES) - set(API_ORDER))


def on_config(config):
    """Add one "cxlib.<module>" entry per submodule to the API reference section."""
    for item in config["nav"]:
        if isinstance(item, dict) and API_SECTION in item:
            item[API_SECTION] = [{"cxlib": "api/index.md"}] + [
                {f"cxlib.{m}": f"api/{m}.md"} for m in _modules()
            ]
    return config


def on_files(files, config):
    """Generate ``api/<module>.md`` (a mkdocstrings directive) unless a hand-written one exists."""
    for module in _modules():
        uri = f"api/{module}.md"
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=f"::: cxlib.{module}\n"))
    return files


def latest_demo_run(reports: Path = ROOT / "reports" / "demo") -> Path | None:
    """Return the newest finished demo run (a folder with index.html and manifest.json)."""
    runs = sorted(
        p
        for p in reports.glob("*")
        if p.is_dir()
        and "." not in p.name
        and (p / "index.html").is_file()
        and (p / "manifest.json").is_file()
    )
    return runs[-1] if runs else None


def _gallery_markdown(run: Path | None) -> str:
    if run is None:
        return (
            '!!! note "No demo report yet"\n'
            "    Run `make report` (it builds the demo report into `reports/demo/`), then "
            "`make docs` again: the pages of the newest finished run appear here.\n"
        )
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    lines = [
        f"The demo client's report, run `{run.name}` (status {manifest.get('status', '?')}, "
        f"cxlib {manifest.get('cxlib_version', '?')}). "
        f'<a href="{GALLERY_DIR}/index.html">Open the report index</a>.',
        "",
        "| page | reviewer version | with code |",
        "|---|---|---|",
    ]
    for nb in manifest.get("notebooks", []):
        name = nb["name"]
        if not (run / "html" / f"{name}.html").is_file():
            continue
        lines.append(
            f'| {name} | <a href="{GALLERY_DIR}/html/{name}.html">{name}.html</a> '
            f'| <a href="{GALLERY_DIR}/html/{name}.full.html">{name}.full.html</a> |'
        )
    return "\n".join(lines) + "\n"


def readme_section(title: str, readme: Path = ROOT / "README.md") -> str:
    """Return the body of the README's ``## title`` section (up to the next ``## `` heading)."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if match is None:
        raise ValueError(f"README.md has no section '## {title}'")
    return match.group(1).strip() + "\n"


def on_page_markdown(markdown, page, config, files):
    """Fill the changelog, the gallery and the pages that show a README section."""
    markdown = re.sub(
        r"^<!-- README: (.+?) -->$", lambda m: readme_section(m.group(1)), markdown, flags=re.M
    )
    if page.file.src_uri == "changelog.md":
        return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    if page.file.src_uri == "gallery.md":
        return markdown + "\n" + _gallery_markdown(latest_demo_run())
    return markdown


def on_post_build(config):
    """Copy the newest finished demo run into the site."""
    run = latest_demo_run()
    if run is None:
        return
    target = Path(config["site_dir"]) / GALLERY_DIR
    shutil.rmtree(target, ignore_errors=True)
    # Everything the run's index links to (pages, executed notebooks, manifest); not the logs.
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("logs"))
