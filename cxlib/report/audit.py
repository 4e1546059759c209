"""The audit of a report run: every sentence the reviewers read, checked by code.

``cxlib audit RUN_DIR`` (and the runner, at the end of every build) reads what a run wrote --
the reviewer pages (``html/<page>.html``), the index, the recorded headlines, the pages' facts
(``headlines/facts``, ``headlines/segments``), ``actions.json`` and ``manifest.json`` -- and
checks them against rules. Each rule is one small function registered with :func:`rule`; each
finding names the rule, the page, the offending text and, in one plain line, why it is wrong.

The rules (:data:`RULES`; their code is in :mod:`cxlib.report._audit_rules`):

``not-a-number``
    No NaN, inf, None, NaT or <NA> in any text, and no recorded number that is not finite.
``period-not-covered``
    A comparison between periods ("down 25% on the 12 months before", "against 5,376 a year
    earlier", "3,805 new customers") is stated only when the data cover both periods
    (:func:`cxlib.segmentation.trend.covers`, with the first and last dates the manifest records).
``warning-not-supported``
    A warning (a headline whose key ends in ``_warning``) records the numbers it rests on
    (``evidence={"checks": [...]}``), and each check holds on them.
``actions-disagree``
    The summary does not say "no action with money" while its segment cards, or
    ``actions.json``, carry one.
``name-contradicts-numbers``
    A cluster's name does not contradict the cluster's own numbers ("recently active" with a
    mean of 127 days since the last purchase when the client lapses after 200).
``counts-do-not-add-up``
    Counts that should add up do: segment sizes to the customer base, shares to 100%, rows read
    to rows kept plus rows set aside.
``source-listed-twice``
    A table of sources (the index's data quality) lists each source once.

Examples
--------
>>> finding = Finding("not-a-number", "04_clv", "r = nan, above 0.3", "NaN in the text")
>>> finding.line()
'not-a-number 04_clv: NaN in the text: "r = nan, above 0.3"'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cxlib.report import _audit_rules  # noqa: F401 - importing it registers the rules
from cxlib.report._audit_base import (
    RULES,
    Finding,
    NotARunError,
    RunText,
    page_text,
    read_run,
    rule,
    sentences,
)
from cxlib.settings.params import param_error

__all__ = [
    "RULES",
    "Finding",
    "NotARunError",
    "RunText",
    "audit_run",
    "page_text",
    "read_run",
    "rule",
    "sentences",
]


def audit_run(run_dir: str | Path, *, rules: Iterable[str] | None = None) -> list[Finding]:
    """Check a report run against the rules; return the findings (empty when there are none).

    Parameters
    ----------
    run_dir : str or Path
        The run folder (``reports/<client>/<run-id>``), finished or not.
    rules : iterable of str, optional
        Only these rule ids (default all of :data:`RULES`).

    Raises
    ------
    NotARunError
        When ``run_dir`` is not a report run.
    """
    run = read_run(run_dir)
    wanted = list(RULES) if rules is None else list(rules)
    unknown = [name for name in wanted if name not in RULES]
    if unknown:
        raise param_error(
            "rules", unknown, f"names of rules in {sorted(RULES)}", caller="audit_run"
        )
    findings: list[Finding] = []
    for name in wanted:
        found = list(RULES[name][0](run))
        findings.extend(dict.fromkeys(found))  # the same defect quoted twice counts once
    return findings
