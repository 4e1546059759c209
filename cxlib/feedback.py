"""Themes in complaint and feedback texts, ranked by the money at stake rather than by volume.

A complaint from a customer who bought is a statement of the outcome they wanted ("my parcel
on time", "a refund without a fight"). This module finds the recurring themes with TF-IDF and
non-negative matrix factorisation (scikit-learn), names each by its top terms with example
quotes, and links each theme to the churn and revenue of the customers who raised it.

- :func:`find_themes` — themes, their names, quotes and each text's theme.
- :func:`themes_by` — how often each theme comes up within each segment (or channel, ...).
- :func:`theme_impact` — churn and revenue of customers raising each theme versus the others,
  and the revenue at stake, ranked.

Texts may be in any language that separates words with spaces or punctuation (the tokenizer
is Unicode-aware); pass ``stop_words="russian"``, your own list, or ``None``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxlib._validation import (
    DataError,
    check_fraction,
    check_positive_int,
    check_transactions,
    validate_columns,
)

__all__ = [
    "DEFAULT_CHURN_DAYS",
    "DEFAULT_THEME_RANGE",
    "RUSSIAN_STOP_WORDS",
    "ThemeResult",
    "find_themes",
    "theme_impact",
    "themes_by",
]

#: Candidate numbers of themes when ``n_themes`` is not given.
DEFAULT_THEME_RANGE = range(3, 11)
#: A customer raising a theme has churned when they made no purchase in this many days before
#: the end of the data (only customers whose text came before that window count).
DEFAULT_CHURN_DAYS = 180

#: A short list of Russian function words (pronouns, prepositions, conjunctions, particles and
#: common auxiliaries), lower case. Extend it with a client's own fillers.
RUSSIAN_STOP_WORDS = frozenset(
    """
    а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже
    для до его ее её если есть еще ещё же за здесь и из или им их к как когда кто ли либо мне
    может мы на над нам нас не него нее неё нет ни них но ну о об однако он она они оно от очень
    по под при с со так также такой там те тем то того тоже той только том ты у уже хотя чего
    чей чем что чтобы чье чья эта эти это этого этой этом этот я мой моя мое моё мои свой своя
    свои раз просто вообще всё всегда опять снова тут теперь потом после через
    """.split()
)


def _stop_words(stop_words, caller: str):
    if stop_words is None:
        return None
    if isinstance(stop_words, str):
        name = stop_words.lower()
        if name == "english":
            return "english"
        if name == "russian":
            return sorted(RUSSIAN_STOP_WORDS)
        raise ValueError(
            f"The 'stop_words' parameter of {caller} must be 'english', 'russian', a list of "
            f"words or None. Got {stop_words!r} instead."
        )
    words = [str(w).lower() for w in stop_words]
    return sorted(set(words))


@dataclass
class ThemeResult:
    """Themes found by :func:`find_themes`.

    Attributes
    ----------
    themes : DataFrame
        One row per theme, ordered by number of texts: ``theme`` (int id), ``name`` (top terms
        joined by " / "), ``top_terms`` (list of str), ``n_texts``, ``share``, ``quotes``
        (list of example texts, the most typical first).
    assignments : DataFrame
        Aligned with the feedback rows (same index): every feedback column except ``text``
        (``customer_id``, ``date``, ``channel``, ...), then ``theme``,
        ``name``, ``weight`` (the text's share of its dominant theme, 0-1; texts with no known
        word get theme -1 and name ``"(no words)"``).
    selection : DataFrame
        When the number of themes was chosen: ``n_themes`` and ``score`` (mean cosine
        silhouette of texts grouped by dominant theme; higher is better), one row per candidate.
    n_themes : int
        Number of themes (0 when the client has no feedback table).
    note : str
        One sentence for the page: how many themes in how many texts, or why there are none.
    """

    themes: pd.DataFrame
    assignments: pd.DataFrame
    selection: pd.DataFrame
    n_themes: int
    vectorizer_: object = field(repr=False, default=None)
    model_: object = field(repr=False, default=None)
    note: str = ""

    @classmethod
    def empty(cls, note: str) -> ThemeResult:
        """Return a result with no themes and the sentence saying why (tables stay empty)."""
        themes = pd.DataFrame(
            {"theme": pd.Series(dtype=int), "name": pd.Series(dtype=str),
             "top_terms": pd.Series(dtype=object), "n_texts": pd.Series(dtype=int),
             "share": pd.Series(dtype=float), "quotes": pd.Series(dtype=object)}
        )  # fmt: skip
        assignments = pd.DataFrame(columns=["customer_id", "date", "theme", "name", "weight"])
        selection = pd.DataFrame(columns=["n_themes", "score"])
        return cls(themes, assignments, selection, 0, note=note)


def _nndsvda(svd, k: int, fill: float):
    """NNDSVDa starting point (Boutsidis & Gallopoulos 2008) from the first k singular triplets.

    The same as scikit-learn's ``init="nndsvda"``, but one truncated SVD serves every candidate
    number of themes instead of one SVD per candidate.
    """
    u_all, s_all, vt_all = svd
    n, m = u_all.shape[0], vt_all.shape[1]
    w, h = np.zeros((n, k)), np.zeros((k, m))
    w[:, 0] = np.sqrt(s_all[0]) * np.abs(u_all[:, 0])
    h[0] = np.sqrt(s_all[0]) * np.abs(vt_all[0])
    for j in range(1, k):
        x, y = u_all[:, j], vt_all[j]
        xp, yp, xn, yn = np.maximum(x, 0), np.maximum(y, 0), np.maximum(-x, 0), np.maximum(-y, 0)
        xp_norm, yp_norm = np.linalg.norm(xp), np.linalg.norm(yp)
        xn_norm, yn_norm = np.linalg.norm(xn), np.linalg.norm(yn)
        positive, negative = xp_norm * yp_norm, xn_norm * yn_norm
        if positive > negative:
            u, v, sigma = xp / max(xp_norm, 1e-12), yp / max(yp_norm, 1e-12), positive
        else:
            u, v, sigma = xn / max(xn_norm, 1e-12), yn / max(yn_norm, 1e-12), negative
        scale = np.sqrt(s_all[j] * sigma)
        w[:, j], h[j] = scale * u, scale * v
    w[w < 1e-6] = fill
    h[h < 1e-6] = fill
    return w, h


def _fit_nmf(matrix, k: int, seed: int, svd=None):
    """Fit NMF; rescale text-theme weights as if each theme's term vector had unit norm.

    Then a text's dominant theme does not depend on how NMF split the scale between W and H.
    ``svd`` (a truncated SVD of ``matrix`` with at least ``k`` components) gives the NNDSVDa
    start; without it scikit-learn computes one.
    """
    from sklearn.decomposition import NMF

    init = "nndsvda" if svd is None else "custom"
    model = NMF(n_components=k, init=init, random_state=seed, max_iter=400, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny corpora: results still usable
        if svd is None:
            weights = model.fit_transform(matrix)
        else:
            w, h = _nndsvda(svd, k, fill=float(matrix.mean()))
            weights = model.fit_transform(matrix, W=w, H=h)
    norms = np.linalg.norm(model.components_, axis=1)
    return model, weights * norms


def find_themes(
    feedback: pd.DataFrame | None,
    *,
    n_themes: int | None = None,
    theme_range: Iterable[int] = DEFAULT_THEME_RANGE,
    stop_words: str | Sequence[str] | None = "english",
    n_top_terms: int = 4,
    n_quotes: int = 3,
    min_df: int | float = 2,
    max_df: float = 0.8,
    ngram_range: tuple[int, int] = (1, 1),
    max_features: int = 20_000,
    silhouette_sample_size: int = 2_000,
    seed: int = 0,
) -> ThemeResult:
    """Find the themes in feedback texts with TF-IDF and NMF, name them, and assign each text.

    Parameters
    ----------
    feedback : DataFrame or None
        ``text``, plus ``customer_id`` and ``date`` (carried into ``assignments``, needed by
        :func:`theme_impact`). None (a client without a feedback table) gives an empty result
        whose ``note`` says so; :func:`theme_impact` and :func:`themes_by` return empty tables.
    n_themes : int, optional, keyword-only
        Number of themes. When omitted it is chosen from ``theme_range`` by the mean cosine
        silhouette of the texts grouped by their dominant theme (how much closer a text is to
        the texts of its own theme than to the next theme's).
    theme_range : iterable of int, keyword-only
        Candidates for the number of themes (each at least 2).
    stop_words : "english", "russian", list of str, or None, keyword-only
        Words to ignore. The tokenizer keeps any Unicode word of two or more characters.
    n_top_terms, n_quotes : int, keyword-only
        Terms in a theme's name; example texts per theme.
    min_df, max_df, ngram_range, max_features : keyword-only
        Passed to :class:`sklearn.feature_extraction.text.TfidfVectorizer`. ``max_df=0.8``
        drops words used in more than 80% of the texts (fillers the stop words missed) while
        keeping the words of a theme that dominates the corpus. ``min_df`` is lowered to 1 for
        corpora under 20 texts.
    silhouette_sample_size : int, keyword-only
        Texts used to score each candidate number of themes.
    seed : int, keyword-only
        Seed for NMF and the silhouette sample.

    Returns
    -------
    ThemeResult

    Raises
    ------
    DataError
        When there are no texts with words, or fewer texts than themes.

    Examples
    --------
    >>> texts = ["parcel arrived late", "late delivery again", "courier was late",
    ...          "refund never came", "still waiting for my refund", "refund refused"] * 3
    >>> result = find_themes(pd.DataFrame({"text": texts}), n_themes=2)
    >>> sorted(result.themes["top_terms"].str[0])
    ['late', 'refund']
    """
    caller = "find_themes"
    if feedback is None:
        return ThemeResult.empty("No feedback table: the complaint themes section does not apply.")
    validate_columns(feedback, ["text"], caller=caller)
    texts = feedback["text"].fillna("").astype(str)
    if (texts.str.strip() == "").all():
        raise DataError(f"{caller}: no feedback texts to read (all {len(texts)} are empty)")
    candidates = _theme_candidates(n_themes, theme_range, caller)
    vectorizer, matrix = _vectorize(
        texts, stop_words=stop_words, min_df=min_df, max_df=max_df, ngram_range=ngram_range,
        max_features=max_features, caller=caller,
    )
    has_words = np.asarray(matrix.sum(axis=1)).ravel() > 0
    n_docs = int(has_words.sum())
    if n_docs < max(candidates):
        if n_themes is not None or n_docs < min(candidates):
            raise DataError(
                f"{caller}: {n_docs} text(s) with words is too few for "
                f"{max(candidates) if n_themes is not None else min(candidates)} themes"
            )
        candidates = [k for k in candidates if k <= n_docs]
    best, selection, model, weights = _choose_n_themes(
        matrix[has_words], candidates, sample_size=silhouette_sample_size, seed=seed
    )

    totals = weights.sum(axis=1)
    strength = np.divide(weights.max(axis=1), totals, out=np.zeros(len(totals)), where=totals > 0)
    theme = np.full(len(texts), -1)
    theme[has_words] = np.where(totals > 0, weights.argmax(axis=1), -1)
    weight = np.zeros(len(texts))
    weight[has_words] = strength
    top_terms = _top_terms(model, vectorizer.get_feature_names_out(), n_top_terms)
    names = {k: " / ".join(chosen) for k, chosen in enumerate(top_terms)}
    themes = _theme_table(
        theme, weight, top_terms, feedback["text"].astype(str).to_numpy(), n_quotes
    )
    assignments = pd.DataFrame(index=feedback.index)
    for column in feedback.columns:
        if column != "text":
            assignments[column] = feedback[column].to_numpy()
    assignments["theme"] = theme
    assignments["name"] = pd.Series(theme, index=feedback.index).map(names).fillna("(no words)")
    assignments["weight"] = weight
    return ThemeResult(
        themes=themes,
        assignments=assignments,
        selection=selection,
        n_themes=best,
        vectorizer_=vectorizer,
        model_=model,
        note=f"{best} themes in {n_docs:,} feedback texts with words.",
    )


def _theme_candidates(n_themes, theme_range, caller: str) -> list[int]:
    """Return the numbers of themes to try: ``[n_themes]``, else the sorted ``theme_range``."""
    if n_themes is not None and (
        isinstance(n_themes, bool) or not isinstance(n_themes, (int, np.integer)) or n_themes < 2
    ):
        raise ValueError(
            f"The 'n_themes' parameter of {caller} must be an integer of at least 2. "
            f"Got {n_themes!r} instead."
        )
    candidates = [n_themes] if n_themes is not None else sorted({int(k) for k in theme_range})
    if not candidates or min(candidates) < 2:
        raise ValueError(
            f"The 'theme_range' parameter of {caller} must hold integers of at least 2. "
            f"Got {list(theme_range)!r} instead."
        )
    return candidates


def _vectorize(texts: pd.Series, *, stop_words, min_df, max_df, ngram_range, max_features,
               caller: str):
    """Fit the TF-IDF vectorizer; return it and the text-by-term matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words=_stop_words(stop_words, caller),
        token_pattern=r"(?u)\b\w\w+\b",
        lowercase=True,
        min_df=min_df if len(texts) >= 20 else 1,
        max_df=max_df if len(texts) >= 20 else 1.0,
        ngram_range=ngram_range,
        max_features=max_features,
        sublinear_tf=True,
    )
    try:
        return vectorizer, vectorizer.fit_transform(texts)
    except ValueError as exc:  # empty vocabulary
        raise DataError(f"{caller}: no words left after removing stop words ({exc})") from None


def _choose_n_themes(docs, candidates: list[int], *, sample_size: int, seed: int):
    """Fit NMF for each candidate; keep the best mean cosine silhouette (or the only one).

    Returns the chosen number, the selection table, and the chosen model and weights.
    """
    from sklearn.metrics import silhouette_score
    from sklearn.utils.extmath import randomized_svd

    n_docs = docs.shape[0]
    rng = np.random.default_rng(seed)
    sample = (
        rng.choice(n_docs, size=sample_size, replace=False)
        if n_docs > sample_size
        else np.arange(n_docs)
    )
    distances = None
    if len(candidates) > 1:  # one cosine distance matrix, shared by every candidate
        rows_sample = docs[sample]
        distances = np.clip(1.0 - (rows_sample @ rows_sample.T).toarray(), 0.0, None)
        np.fill_diagonal(distances, 0.0)
    # One SVD serves every candidate's NNDSVDa start.
    svd = randomized_svd(
        docs, n_components=min(max(candidates), min(docs.shape)), random_state=seed
    )
    selection_rows, fitted = [], {}
    for k in candidates:
        model, weights = _fit_nmf(docs, k, seed, svd=svd if k <= len(svd[1]) else None)
        fitted[k] = (model, weights)
        if distances is not None:
            labels = weights.argmax(axis=1)[sample]
            if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
                score = -1.0
            else:
                score = float(silhouette_score(distances, labels, metric="precomputed"))
            selection_rows.append((k, score))
    selection = pd.DataFrame(selection_rows, columns=["n_themes", "score"])
    if len(candidates) == 1:
        best = candidates[0]
    else:
        ranked = selection.sort_values(["score", "n_themes"], ascending=[False, True])
        best = int(ranked.iloc[0]["n_themes"])
    return best, selection, *fitted[best]


def _top_terms(model, terms: np.ndarray, n_top_terms: int) -> list[list[str]]:
    """Each theme's strongest terms, skipping a bigram whose words are already shown."""
    out = []
    for component in model.components_:
        chosen: list[str] = []
        for index in np.argsort(component)[::-1]:
            if component[index] <= 0:
                break
            words = set(terms[index].split())
            if any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
                continue
            chosen.append(terms[index])
            if len(chosen) == n_top_terms:
                break
        out.append(chosen)
    return out


def _theme_table(theme, weight, top_terms, raw_texts, n_quotes: int) -> pd.DataFrame:
    """One row per theme with its size and most typical distinct quotes, largest first."""
    rows = []
    for k, chosen in enumerate(top_terms):
        members = np.flatnonzero(theme == k)
        typical = members[np.argsort(-weight[members], kind="stable")]
        quotes = list(dict.fromkeys(raw_texts[typical]))[:n_quotes]
        rows.append(
            (k, " / ".join(chosen), chosen, len(members), len(members) / len(theme), quotes)
        )
    themes = pd.DataFrame(
        rows, columns=["theme", "name", "top_terms", "n_texts", "share", "quotes"]
    )
    return themes.sort_values(["n_texts", "theme"], ascending=[False, True]).reset_index(
        drop=True
    )


def themes_by(result: ThemeResult, by: str | pd.Series) -> pd.DataFrame:
    """How often each theme comes up within each group (segment, channel, ...).

    Parameters
    ----------
    result : ThemeResult
        From :func:`find_themes`.
    by : str or Series
        A column of the feedback (e.g. ``"channel"``), or a Series mapping ``customer_id`` to a
        group (e.g. segments).

    Returns
    -------
    DataFrame
        One row per group and theme: ``group``, ``theme``, ``name``, ``n_texts``, ``share``
        (of the group's texts) and ``lift`` (``share`` over the theme's share of all texts;
        above 1 means the group raises the theme more than average).

    Examples
    --------
    >>> texts = ["late parcel", "parcel late again", "refund refused", "refund pending"] * 5
    >>> fb = pd.DataFrame({"text": texts, "channel": ["email", "email", "call", "call"] * 5})
    >>> table = themes_by(find_themes(fb, n_themes=2), "channel")
    >>> table.loc[table["share"] > 0, ["group", "n_texts", "share"]].to_numpy().tolist()
    [['call', 10, 1.0], ['email', 10, 1.0]]
    """
    assignments = result.assignments
    if result.n_themes == 0:
        return pd.DataFrame(columns=["group", "theme", "name", "n_texts", "share", "lift"])
    if isinstance(by, str):
        validate_columns(assignments, [by], caller="themes_by")
        groups = assignments[by]
    elif isinstance(by, pd.Series):
        validate_columns(assignments, ["customer_id"], caller="themes_by")
        lookup = by.copy()
        lookup.index = lookup.index.astype(str)
        lookup = lookup[~lookup.index.duplicated(keep="last")]
        groups = assignments["customer_id"].astype(str).map(lookup)
    else:
        raise ValueError(
            "The 'by' parameter of themes_by must be a column name or a Series indexed by "
            f"customer_id. Got {type(by).__name__} instead."
        )
    frame = pd.DataFrame(
        {"group": groups.fillna("unknown").to_numpy(), "theme": assignments["theme"].to_numpy()}
    )
    counts = frame.groupby(["group", "theme"]).size().unstack(fill_value=0)
    counts = counts.reindex(
        columns=sorted(set(counts.columns) | set(result.themes["theme"])), fill_value=0
    )
    shares = counts.div(counts.sum(axis=1), axis=0)
    overall = counts.sum(axis=0) / counts.to_numpy().sum()
    lift = shares.div(overall.replace(0, np.nan), axis=1)
    table = (
        counts.stack()
        .rename("n_texts")
        .to_frame()
        .join(shares.stack().rename("share"))
        .join(lift.stack().rename("lift"))
        .reset_index()
    )
    names = dict(zip(result.themes["theme"], result.themes["name"], strict=True))
    table.insert(2, "name", table["theme"].map(names).fillna("(no words)"))
    return table[["group", "theme", "name", "n_texts", "share", "lift"]]


def theme_impact(
    result: ThemeResult,
    transactions: pd.DataFrame,
    *,
    clv: pd.Series | None = None,
    churn_days: int = DEFAULT_CHURN_DAYS,
    revenue_months: int = 12,
    observation_end=None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Link each theme to churn and money, and rank the themes by revenue at stake.

    For every customer who wrote feedback, two numbers around their latest text on a theme:
    their revenue in the ``revenue_months`` before it, and whether they have churned by the end
    of the data — no purchase in its last ``churn_days`` days (only customers whose text came
    before that window count toward churn, so the lapse happened after they wrote). A theme's
    customers are compared with every other customer who wrote feedback (at their latest text).

    Parameters
    ----------
    result : ThemeResult
        From :func:`find_themes` (its assignments need ``customer_id`` and ``date``).
    transactions : DataFrame
        ``customer_id``, ``date`` (datetime64), ``amount``; checked by
        :func:`cxlib._validation.check_transactions`.
    clv : Series, optional, keyword-only
        CLV per customer (indexed by ``customer_id``); adds ``clv`` and ``clv_at_stake``.
    churn_days : int, keyword-only
        Days without a purchase at the end of the data that count as churn (default 180); pass
        the client's inactivity threshold (``client.churn_threshold_days``) so the page uses
        the same churn definition as the others.
    revenue_months : int, keyword-only
        Months of revenue before the text counted as the customer's revenue (default 12).
    observation_end : date-like, optional, keyword-only
        End of the data; default the last transaction date.
    confidence : float, keyword-only
        Level of the interval of the churn difference.

    Returns
    -------
    DataFrame
        One row per theme, highest ``revenue_at_stake`` first: ``theme``, ``name``,
        ``customers``, ``n_texts``, ``revenue`` (their revenue in the ``revenue_months`` before
        the text), ``revenue_per_customer``, ``churn_n`` (customers with enough follow-up),
        ``churn_rate``, ``churn_others``, ``excess_churn`` (difference), ``ci_low``,
        ``ci_high``, ``p_value`` (two-proportion z test), ``revenue_at_stake`` =
        ``revenue * max(excess_churn, 0)``: the yearly revenue expected to leave with the
        extra churn of these customers, with ``at_stake_ci_low`` and ``at_stake_ci_high`` from
        the churn difference's interval; with ``clv``, also ``clv`` and ``clv_at_stake``.
    """
    caller = "theme_impact"
    if result.n_themes == 0:  # no feedback table: nothing to link, an empty ranking
        columns = ["theme", "name", "customers", "n_texts", "revenue", "revenue_per_customer",
                   "churn_n", "churn_rate", "churn_others", "excess_churn", "ci_low", "ci_high",
                   "p_value", "revenue_at_stake", "at_stake_ci_low", "at_stake_ci_high"]
        return pd.DataFrame(columns=columns + (["clv", "clv_at_stake"] if clv is not None else []))
    checked = check_transactions(transactions, caller=caller)
    validate_columns(result.assignments, ["customer_id", "date"], caller=caller)
    check_positive_int(churn_days, "churn_days", caller=caller)
    confidence = check_fraction(confidence, "confidence", caller=caller)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    tx = pd.DataFrame(
        {
            "customer_id": checked["customer_id"].astype(str).to_numpy(),
            "date": checked["date"].to_numpy(),
            "amount": checked["amount"].to_numpy(float),
        }
    )
    end = pd.Timestamp(observation_end) if observation_end is not None else tx["date"].max()
    tx = tx[tx["date"] <= end]
    texts = pd.DataFrame(
        {
            "customer_id": result.assignments["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(result.assignments["date"]).to_numpy(),
            "theme": result.assignments["theme"].to_numpy(),
        }
    )
    texts = texts[(texts["date"] <= end) & (texts["theme"] >= 0)]
    if len(texts) == 0:
        raise DataError(f"{caller}: no themed feedback on or before {end.date()}")
    anchors = _theme_anchors(texts, tx, end, revenue_months=revenue_months, churn_days=churn_days)
    if clv is not None:
        lookup = clv.copy()
        lookup.index = lookup.index.astype(str)
        anchors["clv"] = (
            anchors["customer_id"].map(lookup[~lookup.index.duplicated()]).astype(float)
        )
    latest = anchors[anchors["theme"] == -1].set_index("customer_id")
    names = dict(zip(result.themes["theme"], result.themes["name"], strict=True))
    rows = []
    for theme in result.themes["theme"]:
        mine = anchors[anchors["theme"] == theme]
        others = latest.drop(index=mine["customer_id"], errors="ignore")
        row = {"theme": theme, "name": names[theme], **_theme_money(mine, others, z)}
        if clv is not None:
            value = float(mine["clv"].sum())
            diff = row["excess_churn"]
            row["clv"] = value
            row["clv_at_stake"] = value * max(diff, 0.0) if not math.isnan(diff) else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["revenue_at_stake", "revenue"], ascending=False).reset_index(
        drop=True
    )


def _theme_anchors(texts, tx, end, *, revenue_months: int, churn_days: int) -> pd.DataFrame:
    """One reference date per customer and theme, and per customer, with money around it.

    The reference date is the customer's latest text on the theme (``theme`` = -1: on
    anything). Columns: ``revenue`` in the ``revenue_months`` before it, ``followed_up`` (the
    text came before the churn window) and ``churned`` (no purchase after it inside the last
    ``churn_days`` days of the data).
    """
    per_theme = texts.groupby(["customer_id", "theme"], as_index=False).agg(
        date=("date", "max"), n_texts=("date", "size")
    )
    per_customer = texts.groupby("customer_id", as_index=False)["date"].max()
    per_customer["theme"] = -1
    per_customer["n_texts"] = 0
    anchors = pd.concat([per_theme, per_customer], ignore_index=True)
    anchors["row"] = np.arange(len(anchors))
    joined = anchors[["row", "customer_id", "date"]].merge(
        tx, on="customer_id", how="left", suffixes=("", "_tx")
    )
    delta = joined["date_tx"] - joined["date"]
    before = (delta <= pd.Timedelta(0)) & (
        joined["date_tx"] > joined["date"] - pd.DateOffset(months=revenue_months)
    )
    window_start = end - pd.Timedelta(days=churn_days)
    after = (delta > pd.Timedelta(0)) & (joined["date_tx"] > window_start) & (joined["amount"] > 0)
    anchors["revenue"] = joined["amount"].where(before, 0.0).groupby(joined["row"]).sum().to_numpy()
    anchors["followed_up"] = anchors["date"] <= window_start
    anchors["churned"] = ~after.groupby(joined["row"]).any().to_numpy()
    return anchors


def _theme_money(mine: pd.DataFrame, others: pd.DataFrame, z: float) -> dict:
    """Compare a theme's customers with the other writers: excess churn, revenue at stake."""
    mine_f, others_f = mine[mine["followed_up"]], others[others["followed_up"]]
    n1, n0 = len(mine_f), len(others_f)
    p1 = float(mine_f["churned"].mean()) if n1 else math.nan
    p0 = float(others_f["churned"].mean()) if n0 else math.nan
    diff = p1 - p0
    if n1 and n0:
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else math.nan
    else:
        se, p_value = math.nan, math.nan
    revenue = float(mine["revenue"].sum())
    return {
        "customers": len(mine),
        "n_texts": int(mine["n_texts"].sum()),
        "revenue": revenue,
        "revenue_per_customer": revenue / len(mine) if len(mine) else math.nan,
        "churn_n": n1,
        "churn_rate": p1,
        "churn_others": p0,
        "excess_churn": diff,
        "ci_low": diff - z * se,
        "ci_high": diff + z * se,
        "p_value": p_value,
        "revenue_at_stake": revenue * max(diff, 0.0) if not math.isnan(diff) else math.nan,
        "at_stake_ci_low": revenue * max(diff - z * se, 0.0) if n1 and n0 else math.nan,
        "at_stake_ci_high": revenue * max(diff + z * se, 0.0) if n1 and n0 else math.nan,
    }
