"""Complaints as desired outcomes: complaint themes apart from praise, by the writers' NPS.

Each text is linked to its writer's NPS answer; a theme is a complaint unless the customers who
write it are clearly promoters, in which case it is praise, reported apart. Why the themes are
found on all texts and then sorted, rather than found in detractors' and passives' texts only:
passives praise too (on the demo a third of the passives' texts are praise, and detractors'
plus passives' texts alone gave a praise theme "really / shop / town / best" among the
complaints); three in four texts come from customers who never answered the survey; and a
theme is recognised by its words, whoever wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.feedback._themes import ThemeResult, find_themes, pick_quotes
from cxlib.settings.escape import escaped_style
from cxlib.settings.i18n import gettext, localise, number, percent, scaled
from cxlib.settings.validation import DataError, validate_columns

#: A theme needs this many texts from customers with a survey answer for its writers' NPS to
#: decide whether it is praise; with fewer it stays a complaint (nothing hides a complaint).
MIN_RATED_TEXTS = 10

_NPS_COLUMNS = ["detractors", "passives", "promoters", "unrated", "writers_nps", "side"]


def nps_categories(
    feedback: pd.DataFrame,
    surveys: pd.DataFrame | None,
    *,
    promoter_min: int = 9,
    detractor_max: int = 6,
) -> pd.DataFrame:
    """Link each feedback text to its writer's NPS answer and category.

    The rule: the customer's latest answer on or before the text's date; when they answered
    only after it, their first answer after it (how they felt closest to writing); when they
    never answered, ``"unrated"``.

    Parameters
    ----------
    feedback : DataFrame
        ``customer_id`` and ``date`` (datetime64).
    surveys : DataFrame or None
        ``customer_id``, ``date`` (datetime64) and ``score`` (0-10). None: every text unrated.
    promoter_min, detractor_max : int, keyword-only
        The client's NPS thresholds.

    Returns
    -------
    DataFrame
        Aligned with ``feedback`` (same index): ``answer_date``, ``answer_score`` (float, NaN
        when unrated) and ``nps_category`` (``"detractor"``, ``"passive"``, ``"promoter"`` or
        ``"unrated"``).

    Examples
    --------
    >>> fb = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...                    "date": pd.to_datetime(["2024-01-10", "2024-03-10", "2024-02-01",
    ...                                            "2024-02-01"])})
    >>> sv = pd.DataFrame({"customer_id": ["a", "a", "b"], "score": [3, 9, 7],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-01"])})
    >>> nps_categories(fb, sv)["nps_category"].tolist()
    ['detractor', 'promoter', 'passive', 'unrated']
    """
    from cxlib.nps import nps_category

    caller = "nps_categories"
    validate_columns(feedback, ["customer_id", "date"], caller=caller)
    _check_dates(feedback, "feedback", caller)
    out = pd.DataFrame(
        {"answer_date": pd.NaT, "answer_score": np.nan, "nps_category": "unrated"},
        index=feedback.index,
    )
    if surveys is None or len(surveys) == 0:
        return out
    validate_columns(surveys, ["customer_id", "date", "score"], caller=caller)
    _check_dates(surveys, "surveys", caller)
    texts = pd.DataFrame(
        {
            "row": np.arange(len(feedback)),
            "customer_id": feedback["customer_id"].astype(str).to_numpy(),
            "date": feedback["date"].to_numpy(),
        }
    )
    texts = texts[texts["date"].notna()].sort_values("date")  # undated texts stay unrated
    answers = (
        pd.DataFrame(
            {
                "customer_id": surveys["customer_id"].astype(str).to_numpy(),
                "answer_date": surveys["date"].to_numpy(),
                "answer_score": surveys["score"].to_numpy(),
            }
        )
        .dropna(subset=["answer_date", "answer_score"])
        .sort_values("answer_date")
    )
    found = []
    for direction in ("backward", "forward"):  # before/at the text first, else the next one
        found.append(
            pd.merge_asof(
                texts,
                answers,
                left_on="date",
                right_on="answer_date",
                by="customer_id",
                direction=direction,
            )
            .set_index("row")
            .sort_index()
        )
    linked = found[0].combine_first(found[1])[["answer_date", "answer_score"]]
    linked = linked.reindex(np.arange(len(feedback)))
    rated = linked["answer_score"].notna().to_numpy()
    out["answer_date"] = linked["answer_date"].to_numpy()
    out["answer_score"] = linked["answer_score"].to_numpy(float)
    categories = nps_category(
        linked["answer_score"].to_numpy()[rated].astype(int),
        promoter_min=promoter_min,
        detractor_max=detractor_max,
    )
    column = out["nps_category"].to_numpy(dtype=object)
    column[rated] = categories.astype(str).to_numpy()
    out["nps_category"] = column
    return out


def _check_dates(frame: pd.DataFrame, name: str, caller: str) -> None:
    if not pd.api.types.is_datetime64_any_dtype(frame["date"]):
        raise DataError(
            f"{caller}: {name} column 'date' must be datetime64 (got {frame['date'].dtype}); "
            "load the file with cxlib.data or convert it with pd.to_datetime"
        )


@dataclass
class OutcomeResult:
    """Complaint and praise themes from :func:`find_outcomes`.

    Attributes
    ----------
    complaints : ThemeResult
        The complaint themes (``themes`` holds only them, with the columns of
        :func:`find_themes` plus ``detractors``, ``passives``, ``promoters``, ``unrated``
        (texts per writer category), ``writers_nps`` and ``side``); quotes from detractors
        and passives first. Pass it to :func:`theme_impact`: each complaint theme's
        customers are compared with every other customer who wrote (praise included).
    praise : ThemeResult
        The praise themes, the same way; quotes from promoters first.
    themes : DataFrame
        Every theme, both sides.
    assignments : DataFrame
        Each text's theme (as in :class:`ThemeResult`) plus ``answer_date``,
        ``answer_score``, ``nps_category`` and ``side``.
    """

    complaints: ThemeResult
    praise: ThemeResult
    themes: pd.DataFrame
    assignments: pd.DataFrame
    note: str = ""  # why there are no themes (no feedback table), else empty


def find_outcomes(
    feedback: pd.DataFrame,
    surveys: pd.DataFrame | None,
    *,
    promoter_min: int = 9,
    detractor_max: int = 6,
    n_quotes: int = 3,
    min_rated: int = MIN_RATED_TEXTS,
    **theme_options,
) -> OutcomeResult:
    """Complaint themes (what detractors and passives wanted) apart from promoters' praise.

    Themes are found in all texts with :func:`find_themes`; each text is linked to its writer's
    NPS answer (:func:`nps_categories`). A theme is **praise** when at least ``min_rated`` of
    its texts come from customers who answered the survey and those writers' NPS is both
    positive and higher than that of the writers of the other themes; every other theme is
    a **complaint**. Complaint quotes come from detractors' and passives' texts first, praise
    quotes from promoters' texts first.

    Parameters
    ----------
    feedback : DataFrame or None
        ``text``, ``customer_id``, ``date`` (datetime64). None (no feedback table) gives empty
        results whose ``note`` says so.
    surveys : DataFrame or None
        ``customer_id``, ``date``, ``score``. Without surveys every theme is a complaint.
    promoter_min, detractor_max : int, keyword-only
        The client's NPS thresholds.
    n_quotes : int, keyword-only
        Quotes per theme.
    min_rated : int, keyword-only
        Rated texts a theme needs before its writers' NPS can call it praise.
    **theme_options
        Passed to :func:`find_themes` (``n_themes``, ``stop_words``, ``seed``, ...).

    Returns
    -------
    OutcomeResult

    Examples
    --------
    >>> texts = ["Parcel arrived late.", "Late delivery again.", "Courier was late.",
    ...          "Great shop, lovely staff!", "Lovely staff, great prices."] * 4
    >>> fb = pd.DataFrame({"customer_id": [f"c{i}" for i in range(20)], "text": texts,
    ...                    "date": pd.Timestamp("2024-05-01")})
    >>> sv = pd.DataFrame({"customer_id": [f"c{i}" for i in range(20)],
    ...                    "score": [2, 5, 7, 10, 9] * 4, "date": pd.Timestamp("2024-04-01")})
    >>> result = find_outcomes(fb, sv, n_themes=2, min_rated=5)
    >>> result.complaints.themes["name"].tolist(), result.praise.themes["name"].tolist()
    (['late delivery, parcel arrived, courier'], ['lovely staff, great prices, shop'])
    """
    result = find_themes(feedback, n_quotes=n_quotes, **theme_options)
    if feedback is None:  # no feedback table: both sides empty, with the reason
        themes = result.themes.assign(**dict.fromkeys(_NPS_COLUMNS, []))
        return OutcomeResult(result, result, themes, result.assignments, note=result.note)
    categories = nps_categories(
        feedback, surveys, promoter_min=promoter_min, detractor_max=detractor_max
    )
    category = categories["nps_category"].to_numpy()
    theme = result.assignments["theme"].to_numpy()
    counts = pd.crosstab(theme, category).reindex(
        index=result.themes["theme"],
        columns=["detractor", "passive", "promoter", "unrated"],
        fill_value=0,
    )
    rated = counts[["detractor", "passive", "promoter"]].sum(axis=1)
    nps = 100 * (counts["promoter"] - counts["detractor"]) / rated.replace(0, np.nan)
    total = counts.sum(axis=0)
    others_rated = rated.sum() - rated
    others_nps = (
        100
        * ((total["promoter"] - counts["promoter"]) - (total["detractor"] - counts["detractor"]))
        / others_rated.replace(0, np.nan)
    )
    praise = (rated >= min_rated) & (nps > 0) & ~(nps <= others_nps)
    themes = result.themes.copy()
    themes["detractors"] = counts["detractor"].to_numpy()
    themes["passives"] = counts["passive"].to_numpy()
    themes["promoters"] = counts["promoter"].to_numpy()
    themes["unrated"] = counts["unrated"].to_numpy()
    themes["writers_nps"] = nps.to_numpy()
    themes["side"] = np.where(praise.to_numpy(), "praise", "complaint")
    complaint_voice = np.isin(category, ["detractor", "passive"])
    themes["quotes"] = [
        pick_quotes(
            result,
            k,
            n_quotes=n_quotes,
            prefer=complaint_voice if side == "complaint" else category == "promoter",
        )
        for k, side in zip(themes["theme"], themes["side"], strict=True)
    ]
    assignments = result.assignments.copy()
    for column in categories.columns:  # by position: the feedback's index may repeat
        assignments[column] = categories[column].to_numpy()
    assignments["side"] = assignments["theme"].map(
        dict(zip(themes["theme"], themes["side"], strict=True))
    )
    sides = {}
    for side in ("complaint", "praise"):
        mine = themes[themes["side"] == side].reset_index(drop=True)
        sides[side] = ThemeResult(
            themes=mine,
            assignments=assignments,
            selection=result.selection,
            n_themes=len(mine),
            vectorizer_=result.vectorizer_,
            model_=result.model_,
            texts_=result.texts_,
        )
    return OutcomeResult(sides["complaint"], sides["praise"], themes, assignments)


def outcome_table(
    themes: pd.DataFrame, impact: pd.DataFrame | None = None, *, currency: str = "EUR"
) -> pd.DataFrame:
    """Show themes as a readable table: label, volume, writers' NPS, money at stake and quotes.

    Parameters
    ----------
    themes : DataFrame
        ``OutcomeResult.complaints.themes`` or ``.praise.themes``.
    impact : DataFrame, optional
        From :func:`theme_impact` on the same themes: adds the customers, the revenue at stake
        per year with its interval, and ranks by it.
    currency : str, keyword-only
        Currency code of the money column.

    Returns
    -------
    pandas.io.formats.style.Styler
        Its ``data``: text cells only (numbers formatted, quotes in typographic quotation
        marks, one after the other), readable headers. Shown without index, text columns
        left-aligned and never cut short (a plain DataFrame would cut quotes at 50
        characters).

    Examples
    --------
    >>> themes = pd.DataFrame({"theme": [0], "name": ["tracking page, courier"],
    ...                        "n_texts": [120], "share": [0.153], "writers_nps": [-42.0],
    ...                        "quotes": [["My parcel arrived days late.", "No update."]]})
    >>> outcome_table(themes).data.iloc[0].tolist()
    ['tracking page, courier', '120', '15%', '-42', '“My parcel arrived days late.” “No update.”']
    """
    table = themes.copy()
    if impact is not None:
        money = impact.set_index("theme")
        table = table.join(money[[c for c in money.columns if c not in table.columns]], on="theme")
        table = table.sort_values("revenue_at_stake", ascending=False, na_position="last")
    theme, say = gettext("Theme"), gettext("What customers say")
    out = pd.DataFrame({theme: table["name"].to_numpy()})
    out[gettext("Texts")] = [number(n, ",") for n in table["n_texts"]]
    out[gettext("Share of texts")] = [percent(s, 0) for s in table["share"]]
    if "writers_nps" in table:
        out[gettext("Writers' NPS")] = [
            gettext("n/a") if pd.isna(v) else localise(f"{v:+.0f}".replace("+0", "0"))
            for v in table["writers_nps"]
        ]
    if impact is not None:
        out[gettext("Customers")] = [number(n, ",") for n in table["customers"]]
        out[gettext("Revenue at stake per year (%(currency)s)") % {"currency": currency}] = [
            gettext("%(value)s (%(low)s to %(high)s)")
            % {"value": _money(v), "low": _money(lo), "high": _money(hi)}
            for v, lo, hi in zip(
                table["revenue_at_stake"],
                table["at_stake_ci_low"],
                table["at_stake_ci_high"],
                strict=True,
            )
        ]
    quoted = gettext("“%(quote)s”")  # the language's quotation marks (ru: «…»)
    out[say] = [" ".join(quoted % {"quote": q} for q in quotes) for quotes in table["quotes"]]
    text = [theme, say]
    # Themes and quotes are client text: every cell and header is escaped (cxlib.settings.escape).
    return (
        escaped_style(out)
        .hide(axis="index")
        .set_properties(subset=text, **{"text-align": "left"})
        .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    )


def _money(value: float) -> str:
    """Money without false precision: 10.8k, 8,403, 1.25M (the currency is in the header)."""
    if pd.isna(value):
        return gettext("n/a")
    if abs(value) >= 1e6:
        return scaled(f"{value / 1e6:.2f}", 6)
    if abs(value) >= 1e4:
        return scaled(f"{value / 1e3:.1f}", 3)
    return number(value, ",.0f")
