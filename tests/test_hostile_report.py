"""Stored script injection (issue 14): a client's export is untrusted, the report's HTML is read
by its executives. A small demo client whose category, channel, region and comment texts are
HTML payloads goes through the whole report; headless Chromium then opens every page and no
payload may have become an element or run.

Each payload, if it ran, would mark the page (``data-pwned`` on ``<html>``), which Chromium's
``--dump-dom`` shows after the page's scripts ran.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cxlib.demo import make_demo
from cxlib.report import build_report
from tests.test_html import chromium

MARK = "document.documentElement.setAttribute('data-pwned', '{}')"
PAYLOADS = {
    "category_script": f"<script>{MARK.format('category_script')}</script>",
    "category_img": f'<img src=x onerror="{MARK.format("category_img")}">',
    "channel_svg": f'<svg onload="{MARK.format("channel_svg")}"></svg>',
    "region_iframe": f'<iframe srcdoc="<script>parent.{MARK.format("region_iframe")}</script>">',
    "comment_img": f'<img src=x onerror="{MARK.format("comment_img")}">',
    "feedback_script": f"<script>{MARK.format('feedback_script')}</script>",
    "group_img": f'<img src=x onerror="{MARK.format("group_img")}">',
}


def payload_client(root: Path) -> Path:
    """A 1,500-customer demo whose names and texts carry the payloads; returns its config."""
    demo = make_demo(n_customers=1_500, seed=11)
    data = root / "data"
    data.mkdir(parents=True)
    tx = demo.transactions.copy()
    tx["category"] = tx["category"].replace(
        {"electronics": PAYLOADS["category_script"], "fashion": PAYLOADS["category_img"]}
    )
    tx["channel"] = tx["channel"].replace({"app": PAYLOADS["channel_svg"]})
    customers = demo.customers.copy()
    customers["region"] = customers["region"].replace({"North": PAYLOADS["region_iframe"]})
    customers["acquisition_channel"] = customers["acquisition_channel"].replace(
        {"paid_search": PAYLOADS["category_img"]}
    )
    surveys = demo.surveys.copy()
    surveys["comment"] = surveys["comment"].where(surveys.index % 3 != 0, PAYLOADS["comment_img"])
    feedback = demo.feedback.copy()
    feedback["text"] = feedback["text"].where(
        feedback.index % 4 != 0, feedback["text"] + " " + PAYLOADS["feedback_script"]
    )
    feedback["channel"] = feedback["channel"].replace({"call_centre": PAYLOADS["category_script"]})
    files = [
        ("transactions", "transactions.csv.gz", tx),
        ("customers", "customers.csv", customers),
        ("surveys", "surveys.csv", surveys),
        ("feedback", "feedback.csv", feedback),
    ]
    if demo.experiments is not None:  # the treatment group's name is a payload too
        experiments = demo.experiments.copy()
        experiments["group"] = experiments["group"].replace({"coupon": PAYLOADS["group_img"]})
        files.append(("experiments", "experiments.csv", experiments))
    for _, name, frame in files:
        frame.to_csv(data / name, index=False, date_format="%Y-%m-%d")
    config = root / "payload.yaml"
    tables = "".join(
        f"  {table}: {{path: {file}, date_format: '%Y-%m-%d'}}\n" for table, file, _ in files
    )
    config.write_text(
        "client: payload-client\ncurrency: €\ndata_dir: data\ntables:\n"
        + tables
        + "analysis: {seed: 1, horizon_months: 12, target_churn_rate: 0.25, "
        "observation_end: 2025-12-31}\n",
        encoding="utf-8",
    )
    return config


class _Elements(HTMLParser):
    """Collect every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.tags


def payload_elements(page: str) -> list[str]:
    """Elements that only a payload could have made."""
    found = []
    for tag, attrs in elements(page):
        if "data-pwned" in attrs:
            found.append(f"<{tag} data-pwned={attrs['data-pwned']}>")
        if tag == "img" and attrs.get("src") == "x":
            found.append("<img src=x>")
        if any(name.startswith("on") and "pwned" in (value or "") for name, value in attrs.items()):
            found.append(f"<{tag} on...>")
        if tag in ("svg", "iframe") and any("pwned" in (v or "") for v in attrs.values()):
            found.append(f"<{tag}>")
    return found


def dumped_dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, as headless Chromium sees it."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=3000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def payload_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("payload")
    run = build_report(payload_client(root), out=root / "reports", progress=False)
    return root, run


@pytest.mark.slow
def test_the_payloads_reach_the_pages_as_text(payload_run):
    _, run = payload_run
    assert run.ok, run.failures
    pages = {p.name: p.read_text(encoding="utf-8") for p in (run.run_dir / "html").glob("*.html")}
    # The category names are on the segmentation pages (wallet by category), escaped.
    shown = pages["01_segmentation.html"] + pages["01_segmentation.full.html"]
    assert "&lt;script&gt;document.documentElement" in shown
    assert "&lt;img src=x onerror=" in shown


@pytest.mark.slow
def test_no_payload_becomes_an_element_or_runs_in_headless_chromium(payload_run):
    root, run = payload_run
    pages = [run.run_dir / "index.html", *sorted((run.run_dir / "html").glob("*.html"))]
    assert len(pages) >= 11  # the index, then both versions of the summary and the topics
    problems = {}
    for page in pages:
        source = page.read_text(encoding="utf-8")
        dom = dumped_dom(page, root / "profile")
        found = payload_elements(source) + payload_elements(dom)
        if re.search(r"<html[^>]*data-pwned", dom):
            found.append("a payload ran")
        if found:
            problems[page.name] = sorted(set(found))
    assert problems == {}
