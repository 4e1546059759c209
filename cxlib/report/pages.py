"""The page manifest: every page of the report, in one place.

A page is one notebook, ``notebooks/NN_<topic>.ipynb``. Its :class:`Page` entry in
:data:`PAGES` says what the rest of the report needs to know about it: its title (the index,
the PDF's bookmarks), the tables and facts about the client's data it requires (the runner
skips it, with the reason, for a client without them), the section of the executive summary
its headline numbers go under, and the kinds of action it may record
(:mod:`cxlib.report.actions`). The runner, the index, the PDF, the summary and the actions
read it from here, and the run writes the pages it used into its ``manifest.json``, so the
summary notebook (run in its own kernel) reads the run's own list with :func:`run_pages`.

Adding a page is one notebook plus one entry here. A notebook the manifest does not list
(a client's own page in ``cxlib report --notebooks DIR``) still runs: :func:`page_for` describes
it from the notebook itself (its first heading, and ``{"cxlib": {"requires": [...]}}`` in its
metadata).

Examples
--------
>>> [page.name for page in PAGES][:2]
['00_summary', '01_segmentation']
>>> page("02_churn").requires
('transactions|contracts', 'repeat_purchases|contracts', 'churn_window|contracts')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cxlib.settings.i18n import N_, gettext
from cxlib.settings.params import param_error

__all__ = [
    "CLIENT_FACTS",
    "default_notebooks_dir",
    "discover_notebooks",
    "NOTEBOOK_PATTERN",
    "PAGES",
    "SUMMARY_PAGE",
    "Page",
    "action_page",
    "page",
    "page_for",
    "reading_order",
    "run_pages",
    "skip_reason",
    "summary_sections",
    "unmet",
]

#: File names of the report's notebooks: two digits (their order), an underscore, the topic.
NOTEBOOK_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")


@dataclass(frozen=True)
class Page:
    """One page of the report: a notebook and what the report needs to know about it.

    Parameters
    ----------
    name : str
        The notebook's name without ``.ipynb`` (``"02_churn"``); its number orders the pages.
    title : str
        The page's title on the index and in the PDF: the notebook's first heading.
    requires : tuple of str
        Tables the client must have (``"experiments"``), facts about its data
        (:data:`CLIENT_FACTS`), alternatives (``"transactions|contracts"``). A client without
        one gets the page skipped with a one-line reason instead of a failure.
    section : str, optional
        The heading of the executive summary its headline numbers go under (None: the page
        records none, or its name without the number prefix is heading enough).
    optional : bool, default False
        Runs only for some clients (e.g. with an experiments table): the summary does not name
        it as missing when it recorded no numbers.
    actions : tuple of str
        Kinds of action the page may record (``"retention"``, ``"complaint"``, ``"rollout"``):
        :mod:`cxlib.report.actions` files each kind under this page.
    summary : bool, default False
        The executive summary: it runs last (it reads the other pages' numbers) but is listed
        and printed first.
    """

    name: str
    title: str
    requires: tuple[str, ...] = ()
    section: str | None = None
    optional: bool = False
    actions: tuple[str, ...] = ()
    summary: bool = False

    @property
    def notebook(self) -> str:
        """The notebook's file name, ``"02_churn.ipynb"``."""
        return f"{self.name}.ipynb"

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as JSON values (tuples as lists), as the run's manifest records it."""
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Page:
        """Read an entry back from :meth:`to_dict`'s form; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}
        return cls(**{k: v for k, v in values.items() if k in known})


#: The report's pages, in reading order (the summary first).
PAGES: tuple[Page, ...] = (
    Page("00_summary", N_("Executive summary"), summary=True),
    Page(
        "01_segmentation",
        N_("Who are our customers, and where does their money go?"),
        requires=("transactions|contracts", "churn_threshold|contracts"),
        section=N_("Who the customers are, and where the value is concentrated"),
    ),
    Page(
        "02_churn",
        N_("Churn: who leaves, when, why, and how much money leaves with them"),
        requires=(
            "transactions|contracts",
            "repeat_purchases|contracts",
            "churn_window|contracts",
        ),
        section=N_("Who is leaving, and how much money leaves with them"),
        actions=("retention",),
    ),
    Page(
        "03_nps_vs_revenue",
        N_("Does NPS track money?"),
        requires=("surveys", "transactions", "churn_threshold"),
        section=N_("What NPS does and does not say about money"),
        actions=("complaint",),
    ),
    Page(
        "04_clv",
        N_("What is each customer worth?"),
        requires=("transactions|contracts", "repeat_purchases|contracts"),
        section=N_("What customers are worth, and what they could be worth"),
    ),
    Page(
        "05_experiments",
        N_("Did the action work? Testing against a control group"),
        requires=("experiments", "transactions"),
        section=N_("What the tested actions did, in money"),
        optional=True,
        actions=("rollout",),
    ),
)


def _pages(pages: Sequence[Page] | None) -> Sequence[Page]:
    # read at call time, so a page added to PAGES (or a test's extra entry) is seen everywhere
    return PAGES if pages is None else pages


def page(name: str, pages: Sequence[Page] | None = None) -> Page | None:
    """Return the manifest's entry named ``name`` (``"02_churn"``), or None."""
    return next((p for p in _pages(pages) if p.name == name), None)


def _summary_name(pages: Sequence[Page] | None = None) -> str:
    return next((p.name for p in _pages(pages) if p.summary), "00_summary")


#: The executive summary's page name: it runs last but is listed and printed first.
SUMMARY_PAGE = _summary_name()


def reading_order(names: Iterable[str], pages: Sequence[Page] | None = None) -> list[str]:
    """Order page names for a reader: the summary first, the others as given."""
    summary = _summary_name(pages)
    return sorted(names, key=lambda name: name != summary)


def summary_sections(
    pages: Sequence[Page] | None = None, *, optional: bool | None = None
) -> dict[str, str]:
    """Page name -> summary section (in the run's language), in the manifest's order.

    ``optional`` None: every page with a section; True or False: only the optional pages, or
    only the others (those the summary names as missing when they recorded nothing).

    Examples
    --------
    >>> list(summary_sections(optional=True))
    ['05_experiments']
    """
    return {
        p.name: gettext(p.section)
        for p in _pages(pages)
        if p.section is not None and (optional is None or p.optional == optional)
    }


def action_page(kind: str, pages: Sequence[Page] | None = None) -> str:
    """Return the name of the page that records actions of ``kind``.

    Examples
    --------
    >>> action_page("retention")
    '02_churn'
    """
    for p in _pages(pages):
        if kind in p.actions:
            return p.name
    raise KeyError(f"no page of the manifest records {kind!r} actions")


def page_for(source: str | Path, pages: Sequence[Page] | None = None) -> Page:
    """Return the manifest's entry of a notebook file, or one read from the notebook itself.

    A notebook the manifest does not list is titled after its first heading and requires
    what its metadata lists (``{"cxlib": {"requires": [...]}}``).
    """
    source = Path(source)
    listed = page(source.stem, pages)
    if listed is not None:
        return listed
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    requires = tuple(nb.metadata.get("cxlib", {}).get("requires", []))
    return Page(source.stem, notebook_title(nb, source.stem), requires=requires)


def notebook_title(nb: Any, default: str) -> str:
    """Return a notebook's first markdown heading (``# Title``), or ``default``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return default


def run_pages(headlines_dir: str | Path | None) -> tuple[Page, ...]:
    """Return the pages of the run whose headlines are in ``headlines_dir``.

    The runner records them in the run's ``manifest.json`` (beside ``headlines/``) before any
    notebook runs; without it (a notebook run by hand) the manifest's :data:`PAGES`.
    """
    if headlines_dir is not None:
        manifest = Path(headlines_dir).parent / "manifest.json"
        try:
            records = json.loads(manifest.read_text(encoding="utf-8")).get("pages")
        except (OSError, ValueError):
            records = None
        if records:
            return tuple(Page.from_dict(record) for record in records)
    return PAGES


# --- finding the notebooks -------------------------------------------------------------------


def default_notebooks_dir() -> Path:
    """Return the report's notebooks shipped with cxlib, whatever the current directory.

    An installed wheel carries them as ``cxlib/notebooks/*.ipynb`` (the build maps the
    repository's top-level ``notebooks/`` folder into the package); an editable install or a
    source checkout uses that top-level folder itself.

    Examples
    --------
    >>> (default_notebooks_dir() / "00_summary.ipynb").is_file()
    True
    """
    from importlib.resources import files

    shipped = files("cxlib") / "notebooks"
    if isinstance(shipped, Path) and any(shipped.glob("*.ipynb")):
        return shipped
    return Path(__file__).resolve().parents[2] / "notebooks"


def discover_notebooks(
    directory: str | Path | None = None, *, only: Iterable[str] | None = None
) -> list[Path]:
    """List the report's notebooks: ``NN_<topic>.ipynb`` in order, ``00_summary`` last.

    Parameters
    ----------
    directory : str or Path, optional
        Where the notebooks are; defaults to :func:`default_notebooks_dir`.
    only : iterable of str, optional
        Keep only these notebooks, given by name (``"02_churn"``) or number prefix (``"02"``).

    Raises
    ------
    ValueError
        When ``directory`` has no notebooks, or a name in ``only`` matches none.

    Examples
    --------
    >>> [p.name for p in discover_notebooks(only=["00"])]
    ['00_summary.ipynb']
    """
    directory = Path(directory) if directory is not None else default_notebooks_dir()
    found = sorted(p for p in directory.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))
    found.sort(key=lambda p: (p.stem.startswith(SUMMARY_PAGE), p.name))
    if not found:
        raise ValueError(
            f"No notebooks named NN_<topic>.ipynb in {directory}; pass the notebook folder "
            "(cxlib report --notebooks DIR)."
        )
    if only is None:
        return found
    wanted = [name.strip().removesuffix(".ipynb") for name in only if name.strip()]
    unknown = [w for w in wanted if not any(_matches(p.stem, w) for p in found)]
    if unknown:
        names = ", ".join(p.stem for p in found)
        must = f"names of notebooks in {directory} ({names})"
        raise param_error("only", unknown, must, caller="discover_notebooks")
    return [p for p in found if any(_matches(p.stem, w) for w in wanted)]


def _matches(stem: str, wanted: str) -> bool:
    return stem == wanted or stem.split("_", 1)[0] == wanted


# --- what a client must have for a page -------------------------------------------------------


def _history_days(client: Any) -> int:
    """Days from the first transaction to the observation end (0 for a single day)."""
    import pandas as pd

    dates = client.transactions["date"]
    end = client.analysis.observation_end
    last = dates.max() if end is None else min(dates.max(), pd.Timestamp(end))
    return int((last.normalize() - dates.min().normalize()).days)


def _churn_window_reason(client: Any) -> str:
    days, horizon = _history_days(client), client.analysis.churn_horizon_days
    text = gettext(
        "no history before the churn window: %(days)s days of data, not more than the "
        "%(horizon)s-day window (set a shorter analysis.churn_horizon_days in the client's YAML)"
    )
    return text % {"days": days, "horizon": horizon}


#: Facts about a client's data a page or cell may require besides tables, in its ``requires``
#: (alone, or as an alternative to a table: ``"repeat_purchases|contracts"``): name ->
#: (whether the client meets it, the one-line reason when it does not). A fact is tested only
#: when the tables a page requires are there.
CLIENT_FACTS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], str]]] = {
    "repeat_purchases": (
        lambda client: client.repeat_purchases,
        lambda client: gettext(
            "no repeat purchases: no customer bought on two different days, so there is no "
            "purchase rhythm to model"
        ),
    ),
    "churn_threshold": (
        lambda client: client.analysis.churn_inactivity_days is not None or client.repeat_purchases,
        lambda client: gettext(
            "no churn threshold: no customer bought on two different days to read it from "
            "(set analysis.churn_inactivity_days in the client's YAML)"
        ),
    ),
    "churn_window": (
        lambda client: _history_days(client) > client.analysis.churn_horizon_days,
        _churn_window_reason,
    ),
}


def skip_reason(missing: list[str], client: Any) -> str:
    """One line: the tables missing (``"no surveys table"``), else the first fact's reason."""
    tables = [entry for entry in missing if entry.split("|")[0] not in CLIENT_FACTS]
    if tables:
        if len(tables) == 1:
            return gettext("no %(table)s table") % {"table": tables[0]}
        return gettext("no %(tables)s tables") % {"tables": gettext(" and no ").join(tables)}
    first = next(o for o in missing[0].split("|") if o in CLIENT_FACTS)
    return CLIENT_FACTS[first][1](client)


def unmet(requires: Iterable[str], client: Any) -> list[str]:
    """Return the entries of a page's (or a cell's) ``requires`` the client does not meet.

    An entry ``"transactions|contracts"`` is met by either table (a page that serves both
    purchase histories and contract histories; a table option is tried before a fact, so a
    fact that needs transactions is not asked of a client the table serves);
    ``"!contracts"`` by a client without it (a cell for purchase histories only). Tables are
    returned as ``"transactions or contracts"``; a fact of :data:`CLIENT_FACTS` (tested only
    when every table required is there) as its entry, ``"repeat_purchases|contracts"``.
    """
    missing, facts = [], []
    for entry in requires:
        if entry.startswith("!"):
            if getattr(client, entry[1:], None) is not None:
                missing.append(entry)
            continue
        options = entry.split("|")
        if any(option in CLIENT_FACTS for option in options):
            facts.append(entry)
        elif all(getattr(client, table, None) is None for table in options):
            missing.append(" or ".join(options))
    if missing:
        return missing
    return [entry for entry in facts if not any(_met(o, client) for o in _tables_first(entry))]


def _tables_first(entry: str) -> list[str]:
    """Return the options of an entry, tables before facts (a fact may need a table)."""
    return sorted(entry.split("|"), key=lambda option: option in CLIENT_FACTS)


def _met(option: str, client: Any) -> bool:
    if option in CLIENT_FACTS:
        return bool(CLIENT_FACTS[option][0](client))
    return getattr(client, option, None) is not None
