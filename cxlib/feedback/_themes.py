"""Find themes in feedback texts with TF-IDF and NMF; label them by phrases, quote them cleanly.

- :func:`find_themes` — themes, their labels (top phrases), quotes and each text's theme.

Texts may be in any language that separates words with spaces or punctuation (the tokenizer
is Unicode-aware); ``stop_words`` names the language ("english", "russian", "french",
"german", "spanish"; accents folded where the language allows, see
:mod:`cxlib.feedback._stop_words`),
or is your own list, or ``None``.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.feedback._stop_words import resolve_stop_words
from cxlib.settings.i18n import gettext
from cxlib.settings.params import Interval, check_param, param_error
from cxlib.settings.validation import DataError, validate_columns

#: Candidate numbers of themes when ``n_themes`` is not given.
DEFAULT_THEME_RANGE = range(3, 11)

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WORD = re.compile(r"(?u)\b\w+\b")
_CLAUSE_BREAK = re.compile(r"[^\w\s'’-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: Quotes longer than this many characters are skipped (a sentence, not a paragraph).
_MAX_QUOTE_CHARS = 200

#: A number of themes worth finding.
_AT_LEAST_TWO = Interval(int, 2, None, words="an integer of at least 2")


@dataclass
class ThemeResult:
    """Themes found by :func:`find_themes`.

    Attributes
    ----------
    themes : DataFrame
        One row per theme, ordered by number of texts: ``theme`` (int id), ``name`` (the
        theme's label: its two or three most telling phrases, e.g. "tracking page, dispatch
        date"), ``top_terms`` (list of its strongest words), ``n_texts``, ``share``,
        ``quotes`` (list of plain strings: whole sentences from the most typical texts).
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
        Why there are no themes (empty when there are some), for the page.
    """

    themes: pd.DataFrame
    assignments: pd.DataFrame
    selection: pd.DataFrame
    n_themes: int
    vectorizer_: object = field(repr=False, default=None)
    model_: object = field(repr=False, default=None)
    texts_: pd.Series | None = field(repr=False, default=None)
    note: str = ""

    @classmethod
    def empty(cls, note: str) -> ThemeResult:
        """Return a result without themes, carrying the sentence that says why."""
        themes = pd.DataFrame(columns=["theme", "name", "top_terms", "n_texts", "share", "quotes"])
        assignments = pd.DataFrame(columns=["customer_id", "date", "theme", "name", "weight"])
        return cls(themes, assignments, pd.DataFrame(columns=["n_themes", "score"]), 0, note=note)


#: :attr:`ThemeResult.note` of a client without a feedback table.
NO_FEEDBACK = "No feedback table: the complaint themes section does not apply."


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
    """Find the themes in feedback texts with TF-IDF and NMF, label them, and assign each text.

    Parameters
    ----------
    feedback : DataFrame
        ``text``, plus ``customer_id`` and ``date`` (carried into ``assignments``, needed by
        :func:`theme_impact`).
    n_themes : int, optional, keyword-only
        Number of themes. When omitted it is chosen from ``theme_range`` by the mean cosine
        silhouette of the texts grouped by their dominant theme (how much closer a text is to
        the texts of its own theme than to the next theme's).
    theme_range : iterable of int, keyword-only
        Candidates for the number of themes (each at least 2).
    stop_words : str, list of str, or None, keyword-only
        A language ("english", "russian", "french", "german", "spanish": its function words
        are ignored and, except for Russian, accents folded), your own list of words, or
        None. The tokenizer keeps any Unicode word of two or more characters.
    n_top_terms, n_quotes : int, keyword-only
        Words in ``top_terms``; quotes per theme.
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
        A theme's label (``name``) is its two or three most distinctive phrases: pairs of
        adjacent words (neither a stop word) found in at least 5% of its texts and more often
        than in the other texts; its top words fill in when a theme has fewer than three. Its
        quotes are the sentence of a typical text that carries the theme's words best.

    Raises
    ------
    DataError
        When there are no texts with words, or fewer texts than themes.

    Examples
    --------
    >>> texts = ["Parcel arrived late. Sorry to say.", "Late delivery again.",
    ...          "The courier was late.", "Refund never came.",
    ...          "Still waiting for my refund.", "Refund refused."] * 3
    >>> result = find_themes(pd.DataFrame({"text": texts}), n_themes=2)
    >>> sorted(result.themes["top_terms"].str[0])
    ['late', 'refund']
    >>> late = result.themes[result.themes["top_terms"].str[0] == "late"].iloc[0]
    >>> late["quotes"][0]
    'Parcel arrived late.'
    """
    caller = "find_themes"
    if feedback is None:  # a client without feedback: an empty result that says so
        return ThemeResult.empty(NO_FEEDBACK)
    validate_columns(feedback, ["text"], caller=caller)
    texts = feedback["text"].fillna("").astype(str)
    if (texts.str.strip() == "").all():
        raise DataError(f"{caller}: no feedback texts to read (all {len(texts)} are empty)")
    candidates = _theme_candidates(n_themes, theme_range, caller)
    words, preprocess = resolve_stop_words(stop_words, caller=caller)
    vectorizer, matrix = _vectorize(
        texts,
        stop_words=words,
        preprocess=preprocess,
        min_df=min_df,
        max_df=max_df,
        ngram_range=ngram_range,
        max_features=max_features,
        caller=caller,
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
    labels = theme_labels(
        texts,
        theme,
        _top_terms(model, vectorizer.get_feature_names_out(), max(n_top_terms, 10)),
        stop_words=words,
        preprocess=preprocess,
    )
    assignments = pd.DataFrame(index=feedback.index)
    for column in feedback.columns:
        if column != "text":
            assignments[column] = feedback[column].to_numpy()
    assignments["theme"] = theme
    assignments["name"] = (
        pd.Series(theme, index=feedback.index).map(dict(enumerate(labels))).fillna("(no words)")
    )
    assignments["weight"] = weight
    result = ThemeResult(
        themes=pd.DataFrame(),
        assignments=assignments,
        selection=selection,
        n_themes=best,
        vectorizer_=vectorizer,
        model_=model,
        texts_=texts,
    )
    quotes = [pick_quotes(result, k, n_quotes=n_quotes) for k in range(best)]
    sizes = np.bincount(theme[theme >= 0], minlength=best)
    themes = pd.DataFrame(
        {
            "theme": np.arange(best),
            "name": labels,
            "top_terms": top_terms,
            "n_texts": sizes,
            "share": sizes / len(theme),
            "quotes": quotes,
        }
    )
    result.themes = themes.sort_values(["n_texts", "theme"], ascending=[False, True]).reset_index(
        drop=True
    )
    return result


def _theme_candidates(n_themes, theme_range, caller: str) -> list[int]:
    """Return the numbers of themes to try: ``[n_themes]``, else the sorted ``theme_range``."""
    check_param("n_themes", n_themes, [_AT_LEAST_TWO, None], caller=caller)
    candidates = [n_themes] if n_themes is not None else sorted({int(k) for k in theme_range})
    if not candidates or min(candidates) < 2:
        must = "integers of at least 2"
        raise param_error("theme_range", list(theme_range), must, caller=caller)
    return candidates


def _vectorize(
    texts: pd.Series,
    *,
    stop_words,
    preprocess,
    min_df,
    max_df,
    ngram_range,
    max_features,
    caller: str,
):
    """Fit the TF-IDF vectorizer; return it and the text-by-term matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words=stop_words,
        preprocessor=preprocess,
        token_pattern=_TOKEN.pattern,
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
        # Strongest first; terms whose weights agree to 6 significant digits are tied (their
        # last digits differ with the BLAS and scikit-learn build), and a tie goes alphabetically,
        # so a theme's name is the same on every machine.
        top = component.max()
        weights = np.round(component / top, 6) if top > 0 else component
        for index in np.lexsort((terms, -weights)):
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


def theme_labels(
    texts: pd.Series,
    theme: np.ndarray,
    top_terms: list[list[str]],
    *,
    stop_words: list[str] | None,
    preprocess: Callable[[str], str],
    n_phrases: int = 3,
    min_coverage: float = 0.05,
) -> list[str]:
    """Label each theme by its most distinctive phrases (pairs of adjacent content words).

    A phrase's score in a theme is ``coverage * log(coverage / overall)``: the share of the
    theme's texts containing it, weighted by how much more often they do than all texts (a
    class-based TF-IDF), times ``1 + `` the weights of its words among the theme's
    ``top_terms`` (the first weighs 1, the last ``1/len``), so phrases of the theme's main
    words come first. Phrases sharing a word with a chosen one are skipped, so the label says
    two or three different things; the theme's top words fill in up to ``n_phrases``. Words
    are shown as written most often in the texts (with their accents).

    Examples
    --------
    >>> texts = pd.Series(["The tracking page froze.", "Tracking page is down again!",
    ...                    "Refund still pending.", "My refund is still pending."])
    >>> theme_labels(texts, np.array([0, 0, 1, 1]), [["tracking"], ["refund"]],
    ...              stop_words=["the", "is", "my", "again"], preprocess=str.lower)
    ['tracking page', 'still pending, refund']
    """
    stop = set(stop_words or ())
    n_themes = len(top_terms)
    # the first top word weighs 1, the last 1/len: the order of the NMF component
    weights = [{t: 1 - i / len(terms) for i, t in enumerate(terms)} for terms in top_terms]
    surface: dict[str, Counter] = {}
    written: dict[str, Counter] = {}  # a phrase as its texts write it ("форма возврата")
    phrase_sets = []
    for text in texts:
        phrases = set()
        for clause in _CLAUSE_BREAK.split(text.lower()):  # a phrase never spans punctuation
            tokens = _WORD.findall(clause)  # one-letter words too: they break phrases
            folded = [preprocess(t) for t in tokens]
            for original, token in zip(tokens, folded, strict=True):
                surface.setdefault(token, Counter())[original] += 1
            for i, (a, b) in enumerate(zip(folded, folded[1:], strict=False)):
                if len(a) > 1 and len(b) > 1 and a not in stop and b not in stop:
                    phrases.add(f"{a} {b}")
                    written.setdefault(f"{a} {b}", Counter())[f"{tokens[i]} {tokens[i + 1]}"] += 1
        phrase_sets.append(phrases)
    overall = Counter(p for phrases in phrase_sets for p in phrases)
    n_total = max(len(phrase_sets), 1)
    labels = []
    for k in range(n_themes):
        members = np.flatnonzero(theme == k)
        counts = Counter(p for i in members for p in phrase_sets[i])
        scored = []
        for phrase, count in counts.items():
            coverage, base = count / max(len(members), 1), overall[phrase] / n_total
            if count >= 2 and coverage >= min_coverage and coverage > base:
                # phrases made of the theme's top words say what it is about: weigh them up
                topic = sum(weights[k].get(word, 0.0) for word in phrase.split())
                scored.append(((1 + topic) * coverage * np.log(coverage / base), phrase))
        chosen: list[str] = []
        for _, phrase in sorted(scored, key=lambda item: (-item[0], item[1])):
            if not any(set(phrase.split()) & set(c.split()) for c in chosen):
                chosen.append(phrase)
            if len(chosen) == n_phrases:
                break
        for term in top_terms[k]:
            if len(chosen) >= n_phrases:
                break
            if not any(set(term.split()) & set(c.split()) for c in chosen):
                chosen.append(term)
        words = [
            written[c].most_common(1)[0][0]
            if c in written
            else " ".join(surface[w].most_common(1)[0][0] if w in surface else w for w in c.split())
            for c in chosen
        ]
        labels.append(", ".join(words) if words else gettext("theme %(k)s") % {"k": k})
    return labels


def pick_quotes(
    result: ThemeResult, theme: int, *, n_quotes: int = 3, prefer: np.ndarray | None = None
) -> list[str]:
    """Whole sentences quoting a theme: from its most typical texts, the best sentence of each.

    Texts are taken by decreasing weight on the theme (texts where ``prefer`` is True first);
    from each, the sentence whose words weigh most in the theme, whitespace trimmed; longer
    than 200 characters or already quoted: skipped.

    Parameters
    ----------
    result : ThemeResult
        From :func:`find_themes`.
    theme : int
        Theme id.
    n_quotes : int, keyword-only
        Quotes wanted.
    prefer : array of bool, optional, keyword-only
        Aligned with the feedback rows: texts to quote first (e.g. detractors' for a complaint).

    Returns
    -------
    list of str
    """
    texts = result.texts_.to_numpy()
    assigned = result.assignments["theme"].to_numpy()
    weight = result.assignments["weight"].to_numpy()
    members = np.flatnonzero(assigned == theme)
    rank = -weight[members]
    if prefer is not None:
        rank = rank - 10.0 * np.asarray(prefer, dtype=bool)[members]
    members = members[np.argsort(rank, kind="stable")]
    component = result.model_.components_[theme]
    vocabulary = result.vectorizer_.vocabulary_
    preprocess = result.vectorizer_.preprocessor
    quotes: list[str] = []
    seen: set[str] = set()
    for index in members[:500]:
        best, best_score = None, 0.0
        for sentence in _SENTENCE_END.split(texts[index]):
            sentence = " ".join(sentence.split())
            tokens = _TOKEN.findall(preprocess(sentence))
            score = sum(component[vocabulary[t]] for t in set(tokens) if t in vocabulary)
            if score > best_score and len(sentence) <= _MAX_QUOTE_CHARS:
                best, best_score = sentence, score
        if best is not None and best.lower() not in seen:
            seen.add(best.lower())
            quotes.append(best[:1].upper() + best[1:])
            if len(quotes) == n_quotes:
                break
    return quotes
