"""The rules of :mod:`cxlib.report.audit`, one function each (see ``_audit_base.rule``).

A rule reads a :class:`cxlib.report.audit.RunText` and yields :class:`cxlib.report.audit.Finding`
objects;
adding a rule is adding one function here and one test in ``tests/test_audit.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from cxlib.report._audit_base import Finding, RunText, quote, rule, sentences
from cxlib.segmentation.trend import covers, previous_year_start

# --- not-a-number ---------------------------------------------------------------------------------

#: A missing or non-finite number printed as text: nan, NaN, inf, -inf, NaT, <NA>, and None
#: where it stands for a value (after "=", ":" or "(", before ")", ",", "%", "." or the end;
#: "None of them" is English).
_NOT_A_NUMBER = re.compile(
    r"(?<![\w-])(?:nan|NaN|NAN|[-+]?inf|[-+]?Inf|[-+]?infinity|[-+]?Infinity|NaT)(?![\w-])"
    r"|<NA>"
    r"|(?:(?<=[=:(])|(?<=[=:(] ))None(?![\w-])"
    r"|(?<![\w-])None(?=\s*(?:[),;%]|\.(?:\s|$)|$))"
)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@rule("not-a-number", "no NaN, inf or None in any text, and every recorded number finite")
def not_a_number(run: RunText) -> Iterator[Finding]:
    for page, text in run.texts():
        match = _NOT_A_NUMBER.search(text)  # one finding per text, quoting the first
        if match:
            yield Finding(
                "not-a-number",
                page,
                quote(text, match.start(), match.end()),
                f"'{match.group(0)}' printed where a number or a word belongs",
            )
    for row in run.headlines.itertuples(index=False):
        if row.unit != "text" and not isinstance(row.value, str) and not _finite(row.value):
            yield Finding(
                "not-a-number",
                str(row.notebook),
                f"{row.label}: {row.value}",
                "a headline number is missing or not finite (the summary shows n/a)",
            )
    for action in run.actions:
        for key in ("value", "value_low", "value_high", "customers"):
            if not _finite(action.get(key)):
                yield Finding(
                    "not-a-number",
                    "actions.json",
                    f"{action.get('action')}: {key} = {action.get(key)}",
                    "an action's money or customer count is missing or not finite",
                )


# --- period-not-covered ---------------------------------------------------------------------------

_DATE = r"(\d{2} [A-Z][a-z]{2} \d{4})"
_COUNT = r"[+\-−]?\d[\d,.]*\s*%?"
_YEAR = pd.DateOffset(years=1)
_DAYS_365 = pd.Timedelta(days=365)

#: Phrases that compare periods: (pattern, the first day the data must cover, given the end of
#: the data and the quarter the sentence names, and what the comparison needs, in words).
_PERIOD_CLAIMS: list[tuple[re.Pattern, Any, str]] = [
    (
        re.compile(
            rf"{_COUNT}\s+(?:on|in|than|against|versus|vs\.?)\s+(?:the\s+)?"
            r"(?:12 months before|previous 12 months|a year before|year before)"
        ),
        lambda end, quarter: previous_year_start(end),
        "compares the last 12 months with the 12 months before",
    ),
    (
        re.compile(
            r"\d[\d,]*\s+new customers|\d[\d,]*\s+returning (?:ones|customers)"
            r"|customers in their first year brought"
        ),
        lambda end, quarter: previous_year_start(end) - pd.Timedelta(days=1),
        "tells new customers from returning ones over the last 12 months",
    ),
    (
        re.compile(r"against\s+[\d,]+\s+a year earlier"),
        lambda end, quarter: None if quarter is None else quarter - _YEAR,
        "compares a quarter with the same quarter a year earlier",
    ),
    (
        re.compile(r"[\d,]+\s+of them were new"),
        lambda end, quarter: None if quarter is None else quarter - _DAYS_365,
        "counts the new customers of a quarter",
    ),
    (
        re.compile(r"\(a year earlier:\s*[\d,]+\)"),
        lambda end, quarter: None if quarter is None else quarter - _YEAR - _DAYS_365,
        "counts the new customers of the quarter a year earlier",
    ),
]


def _coverage(run: RunText) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First transaction date and the end of the analysis, from the manifest."""
    record = (run.manifest.get("coverage") or {}).get("transactions")
    if not record or not record.get("first") or not record.get("last"):
        return None
    end = (run.manifest.get("parameters") or {}).get("observation_end") or record["last"]
    return pd.Timestamp(record["first"]), pd.Timestamp(end)


@rule("period-not-covered", "a comparison between periods only where the data cover both")
def period_not_covered(run: RunText) -> Iterator[Finding]:
    coverage = _coverage(run)
    if coverage is None:  # nothing recorded about the data's dates: nothing to check against
        return
    first, end = coverage
    for page, text in run.texts():
        named = re.search(rf"starting {_DATE}", text)  # the quarter a block speaks of
        quarter = pd.Timestamp(named.group(1)) if named else None
        for sentence in sentences(text):
            for pattern, needed, what in _PERIOD_CLAIMS:
                match = pattern.search(sentence)
                if not match:
                    continue
                start = needed(end, quarter)
                if start is not None and not covers(first, start):
                    yield Finding(
                        "period-not-covered",
                        page,
                        quote(sentence, match.start(), match.end()),
                        f"{what}, which needs data from {start:%d %b %Y}; they start on "
                        f"{first:%d %b %Y}",
                    )


# --- warning-not-supported ------------------------------------------------------------------------

_OPS = {
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "==": lambda v, t: math.isclose(v, t, rel_tol=1e-9, abs_tol=1e-12),
    "!=": lambda v, t: not math.isclose(v, t, rel_tol=1e-9, abs_tol=1e-12),
}


def check_holds(check: dict) -> tuple[bool, str]:
    """Evaluate one evidence check; return whether it holds and, when not, why.

    Examples
    --------
    >>> check_holds({"name": "log-likelihoods", "value": [-1.0, -2.0], "op": "all_equal"})
    (False, 'log-likelihoods are not all equal: -1, -2')
    >>> check_holds({"name": "r", "value": float("nan"), "op": ">", "threshold": 0.3})
    (False, 'r is not a finite number (nan), so it cannot be compared with 0.3')
    """
    name, op = str(check.get("name", "value")), check.get("op")
    raw = check.get("value")
    values = list(raw) if isinstance(raw, list | tuple) else [raw]
    threshold = check.get("threshold")
    shown = ", ".join(f"{v:g}" if _finite(v) else str(v) for v in values)
    if not values or not all(_finite(v) for v in values):
        against = f", so it cannot be compared with {threshold:g}" if _finite(threshold) else ""
        return False, f"{name} is not a finite number ({shown}){against}"
    numbers = [float(v) for v in values]
    if op == "finite":
        return True, ""
    if op == "all_equal":
        same = all(_OPS["=="](v, numbers[0]) for v in numbers)
        return same, "" if same else f"{name} are not all equal: {shown}"
    if op not in _OPS:
        return False, f"{name}: unknown comparison {op!r}"
    if not _finite(threshold):
        return False, f"{name} {op} {threshold}: the threshold is not a finite number"
    holds = all(_OPS[op](v, float(threshold)) for v in numbers)
    return holds, "" if holds else f"{name} = {shown} is not {op} {float(threshold):g}"


@rule("warning-not-supported", "a warning records its numbers, and its condition holds on them")
def warning_not_supported(run: RunText) -> Iterator[Finding]:
    for row in run.headlines.itertuples(index=False):
        evidence = row.evidence if isinstance(row.evidence, dict) else None
        is_warning = str(row.key).endswith("_warning")
        if evidence is None:
            if is_warning:
                yield Finding(
                    "warning-not-supported",
                    str(row.notebook),
                    str(row.value),
                    "the warning records no numbers to check it against (evidence)",
                )
            continue
        checks = evidence.get("checks") or []
        if is_warning and not checks:
            yield Finding(
                "warning-not-supported",
                str(row.notebook),
                str(row.value),
                "the warning records no checks in its evidence",
            )
        for check in checks:
            holds, why = check_holds(check if isinstance(check, dict) else {})
            if not holds:
                yield Finding(
                    "warning-not-supported", str(row.notebook), str(row.value), f"untrue: {why}"
                )


# --- actions-disagree -----------------------------------------------------------------------------

_NO_ACTION = re.compile(r"No (?:topic )?page recorded (?:a ranked |an )?action with money")
_PLAY = re.compile(r"^(?:Retain|Grow)\b[^:]*:.*?\d[\d,.]*\s*(?:[kMB]\s*)?a year")


@rule("actions-disagree", "the summary and the segment cards agree about actions")
def actions_disagree(run: RunText) -> Iterator[Finding]:
    blocks = run.pages.get("00_summary", [])
    plays = [block for block in blocks if _PLAY.search(block)]
    for block in blocks:
        match = _NO_ACTION.search(block)
        if not match:
            continue
        if run.actions:
            yield Finding(
                "actions-disagree",
                "00_summary",
                quote(block),
                f"says no action has money attached, but actions.json ranks {len(run.actions)}",
            )
        elif plays and "segment cards" not in block:
            yield Finding(
                "actions-disagree",
                "00_summary",
                quote(block),
                f"says no action has money attached, but a segment card offers one: "
                f"{quote(plays[0])[:120]}",
            )


# --- name-contradicts-numbers ---------------------------------------------------------------------


def _has_word(name: str, word: str) -> bool:
    if word == "active":  # "active" alone, not the end of "recently active"
        return re.search(r"(?<!recently )(?<![\w-])active(?![\w-])", name) is not None
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", name) is not None


def _name_checks(facts: dict) -> Iterator[tuple[str, str]]:
    """For each cluster, each word of its name its numbers contradict: (name, why)."""
    from cxlib.segmentation import RECENCY_WORDS

    whole, words = facts.get("whole", {}), facts.get("words", {})
    threshold = facts.get("threshold_days")
    for cluster in facts.get("clusters", []):
        name, means = str(cluster.get("name", "")), cluster.get("means", {})
        for feature, (low, high) in words.items():
            if feature not in means or feature not in whole:
                continue
            mean, overall = float(means[feature]), float(whole[feature])
            label = feature.replace("_", " ")
            if _has_word(name, high) and not mean > overall:
                yield (
                    name,
                    f"'{high}', but its mean {label}, {mean:,.4g}, is not above all "
                    + (f"customers' {overall:,.4g}"),
                )
            if _has_word(name, low) and not mean < overall:
                yield (
                    name,
                    f"'{low}', but its mean {label}, {mean:,.4g}, is not below all "
                    + (f"customers' {overall:,.4g}"),
                )
        days = means.get("days_since_last")
        if days is not None and _finite(threshold) and "days_since_last" in whole:
            yield from _recency_checks(name, float(days), float(whole["days_since_last"]),
                                       float(threshold), set(words.get("days_since_last", [])),
                                       RECENCY_WORDS)  # fmt: skip


def _recency_checks(name, days, overall, threshold, checked, recency_words):
    """Check the recency words of a name against the mean days since the last purchase."""
    for side, options in recency_words.items():
        previous = None
        for word, limit in options:
            if _has_word(name, word):
                said = (
                    f"'{word}', but its customers average {days:,.0f} days since the last purchase"
                )
                if side == "low" and math.isfinite(limit) and days > limit * threshold:
                    yield (
                        name,
                        (
                            f"{said}, more than {limit:g} x the inactivity threshold "
                            f"({limit * threshold:,.0f} days)"
                        ),
                    )
                if side == "high" and previous is not None and days <= previous * threshold:
                    yield name, f"{said}, within the inactivity threshold ({threshold:,.0f} days)"
                if word not in checked and (days >= overall if side == "low" else days <= overall):
                    where = "below" if side == "low" else "above"
                    yield name, f"{said}, not {where} all customers' {overall:,.0f}"
            previous = limit


@rule("name-contradicts-numbers", "a group's name does not contradict the group's numbers")
def name_contradicts_numbers(run: RunText) -> Iterator[Finding]:
    for page, facts in run.facts.items():
        clusters = facts.get("clusters") if isinstance(facts, dict) else None
        if not isinstance(clusters, dict):
            continue
        for name, why in _name_checks(clusters):
            yield Finding("name-contradicts-numbers", page, name, f"the name says {why}")


# --- counts-do-not-add-up -------------------------------------------------------------------------


def _sums_to_one(frame: pd.DataFrame, column: str) -> bool:
    if column not in frame or frame[column].isna().all():
        return True
    return math.isclose(float(frame[column].sum()), 1.0, abs_tol=2e-3)


@rule("counts-do-not-add-up", "counts that should add up do")
def counts_do_not_add_up(run: RunText) -> Iterator[Finding]:
    totals: dict[str, int] = {}
    profiles = run.segment_facts.get("profiles")
    if profiles is not None and "customers" in profiles:
        totals["the RFM segments"] = int(profiles["customers"].sum())
        for column in ("customer_share", "revenue_share"):
            if not _sums_to_one(profiles, column):
                yield Finding(
                    "counts-do-not-add-up",
                    "01_segmentation",
                    f"{column} of the RFM segments: {profiles[column].sum():.4f}",
                    f"the segments' {column.replace('_', ' ')}s add up to "
                    f"{profiles[column].sum():.1%}, not 100%",
                )
    trend = run.segment_facts.get("trend")
    if trend is not None and "customers" in trend:
        totals["the segments' trend"] = int(trend["customers"].sum())
    for facts in run.facts.values():
        clusters = facts.get("clusters") if isinstance(facts, dict) else None
        if isinstance(clusters, dict) and clusters.get("clusters"):
            totals["the clusters"] = sum(int(c.get("customers", 0)) for c in clusters["clusters"])
    if len(set(totals.values())) > 1:
        said = ", ".join(f"{name} {count:,}" for name, count in totals.items())
        yield Finding(
            "counts-do-not-add-up",
            "01_segmentation",
            said,
            "the groupings of one customer base count different numbers of customers",
        )
    for record in _quality_sources(run.manifest.get("quality") or []):
        if record["rows_read"] != record["rows_kept"] + record["rows_set_aside"]:
            yield Finding(
                "counts-do-not-add-up",
                "index",
                f"{record['table']} ({record['source']}): {record['rows_read']:,} read, "
                f"{record['rows_kept']:,} kept, {record['rows_set_aside']:,} set aside",
                "rows read are not rows kept plus rows set aside",
            )


def _quality_sources(records: list[dict]) -> list[dict]:
    """Sum the data-quality records per table and source (the reasons within)."""
    sources: dict[tuple[str, str], dict] = {}
    for record in records:
        key = (str(record.get("table")), str(record.get("source")))
        entry = sources.setdefault(
            key,
            {
                "table": key[0],
                "source": key[1],
                "rows_read": int(record.get("rows_read") or 0),
                "rows_kept": int(record.get("rows_kept") or 0),
                "rows_set_aside": 0,
            },
        )
        entry["rows_set_aside"] += int(record.get("rows_set_aside") or 0)
    return list(sources.values())


# --- source-listed-twice --------------------------------------------------------------------------


@rule("source-listed-twice", "a table of sources lists each source once")
def source_listed_twice(run: RunText) -> Iterator[Finding]:
    for page, tables in run.tables.items():
        for table in tables:
            if not table:
                continue
            header = table[0]
            if "Table" not in header or not ({"Source", "File"} & set(header)):
                continue
            at = [header.index("Table"), header.index("Source" if "Source" in header else "File")]
            seen: set[tuple[str, ...]] = set()
            for row in table[1:]:
                if len(row) <= max(at):
                    continue
                key = tuple(row[i] for i in at)
                if key in seen:
                    yield Finding(
                        "source-listed-twice",
                        page,
                        " | ".join(row),
                        f"the table lists {key[0]} ({key[1]}) more than once",
                    )
                    break
                seen.add(key)
