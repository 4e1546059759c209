"""Stop words and accent folding for the feedback texts, per language.

scikit-learn ships English stop words only; the other lists are short hand-written lists of
function words (articles, pronouns, prepositions, conjunctions, auxiliaries, common adverbs),
lower case. Extend them with a client's own fillers by passing a list instead of a name.

Accents are folded (``é`` -> ``e``, ``ß`` -> ``ss``) for the languages whose readers accept
unaccented spellings as the same word (English, French, German, Spanish), so "très" and
"tres" count as one word. Spanish keeps ``ñ`` (``año`` and ``ano`` are different words);
Russian is never folded (``й`` is a letter of its own, not an accented ``и``; the stemmer below
writes ``ё`` as ``е``, as most Russian texts do).

Russian inflects its nouns and verbs (``доставка``, ``доставки``, ``доставку``), so a Russian
text's words are reduced to their stems with the Snowball stemmer (the maintained
``snowballstemmer`` package: pure Python, no dictionaries to download; a dictionary lemmatiser
such as pymorphy3 would name each word's lemma, but needs a 10 MB dictionary package and is
not on conda-forge): the three forms count as one word, and a theme is labelled with the form
its texts use most (:func:`cxlib.feedback._themes.theme_labels`). The other languages are not
stemmed, so their themes are what they were.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache

from cxlib.settings.params import param_error

__all__ = [
    "FOLDED_LANGUAGES",
    "FRENCH_STOP_WORDS",
    "GERMAN_STOP_WORDS",
    "LANGUAGES",
    "RUSSIAN_STOP_WORDS",
    "SPANISH_STOP_WORDS",
    "fold_accents",
    "resolve_stop_words",
    "stem_russian",
]

#: A short list of Russian function words (pronouns, prepositions, conjunctions, particles and
#: common auxiliaries), lower case.
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

#: French function words, with their accents (folded with the texts).
FRENCH_STOP_WORDS = frozenset(
    """
    a à ai aie ait as au aucun aussi autre aux avais avait avant avec avez avions avoir avons
    bien c ça car ce ceci cela celle celui ces cet cette ceux chaque chez comme comment d dans
    de des deux donc dont du elle elles en encore est et été étais était êtes être eu eux fait
    fois font hors il ils j je jusqu l la le les leur leurs lui m ma mais me même mes moi mon
    n ne ni nos notre nous on ont ou où par pas peu peut plus pour pourquoi qu quand que quel
    quelle quelles quels qui s sa sans se sera ses si sien son sont sous suis sur t ta te tes
    toi ton tous tout toute toutes très tu un une vos votre vous y déjà alors ici puis après
    chez leurs avoir être sommes était étaient fut cest jai
    """.split()
)

#: German function words, with their umlauts (folded with the texts).
GERMAN_STOP_WORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei
    bin bis bist da damit dann das dass daß dein deine dem den denn der des dich die dies diese
    diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es
    etwas euch euer für gegen gewesen hab habe haben hat hatte hätte ich ihm ihn ihnen ihr ihre
    im in ist ja jede jedem jeden jeder jetzt kann kein keine können man manche mein meine
    mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne schon sehr sein seine
    sich sie sind so soll sollte sondern um und uns unser unsere unter viel vom von vor war
    waren warum was weil welche wenn wer werde werden wie wieder wir wird wo wurde würde zu zum
    zur über hier heute immer mal gar ganz einfach bitte
    """.split()
)

#: Spanish function words, with their accents (folded with the texts; ``ñ`` is kept).
SPANISH_STOP_WORDS = frozenset(
    """
    a al algo algunas algunos ante antes como con contra cual cuando de del desde donde dos
    el él ella ellas ellos en entre era es esa esas ese eso esos esta está estaba estado están
    estar estas este esto estos fue fueron ha había han hasta hay la las le les lo los más me
    mi mis mucho muy nada ni no nos nosotros o os otra otro para pero poco por porque que qué
    quien se sea ser si sí sin sobre son su sus también tan te tengo ti tiene todo todos tu tus
    un una uno unos usted vosotros y ya yo he hace hacer otra vez aquí ahora después siempre
    mí muy
    """.split()
)

#: Languages that ``stop_words`` may name.
LANGUAGES = ("english", "russian", "french", "german", "spanish")
#: Languages whose accents are folded.
FOLDED_LANGUAGES = frozenset({"english", "french", "german", "spanish"})

_COMBINING = re.compile(r"[\u0300-\u036f]")


def fold_accents(text: str, *, keep_enye: bool = False) -> str:
    """Remove diacritics (``é`` -> ``e``, ``ü`` -> ``u``, ``ß`` -> ``ss``).

    Parameters
    ----------
    text : str
        Any text.
    keep_enye : bool, keyword-only
        Keep ``ñ`` (Spanish).

    Returns
    -------
    str

    Examples
    --------
    >>> fold_accents("Très déçu, la livraison était en retard")
    'Tres decu, la livraison etait en retard'
    >>> fold_accents("Größe, Lieferung verspätet")
    'Grosse, Lieferung verspatet'
    >>> fold_accents("El envío tardó un año", keep_enye=True)
    'El envio tardo un año'
    """
    decomposed = unicodedata.normalize("NFKD", text).replace("ß", "ss")
    if keep_enye:
        decomposed = decomposed.replace("n\u0303", "ñ").replace("N\u0303", "Ñ")
    return _COMBINING.sub("", decomposed)


def _english() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


_LISTS: dict[str, Callable[[], frozenset[str]]] = {
    "english": _english,
    "russian": lambda: RUSSIAN_STOP_WORDS,
    "french": lambda: FRENCH_STOP_WORDS,
    "german": lambda: GERMAN_STOP_WORDS,
    "spanish": lambda: SPANISH_STOP_WORDS,
}


_RU_WORD = re.compile(r"\w+")


@cache
def _russian_stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("russian")


def stem_russian(text: str) -> str:
    """Lower-case a Russian text and reduce each word to its Snowball stem.

    Examples
    --------
    >>> stem_russian("Жду доставку: доставка опять задержалась")
    'жду доставк: доставк опя задержа'
    """
    stemmer = _russian_stemmer()
    return _RU_WORD.sub(lambda m: stemmer.stemWord(m.group()), text.lower())


def resolve_stop_words(
    stop_words: str | Sequence[str] | None, *, caller: str
) -> tuple[list[str] | None, Callable[[str], str]]:
    """Return the stop words to drop and the text preprocessor for a language name, a list or None.

    Parameters
    ----------
    stop_words : {"english", "russian", "french", "german", "spanish"}, list of str or None
        A language name (case-insensitive), your own words, or None (keep every word).
    caller : str
        Named in the error message.

    Returns
    -------
    stop_words : sorted list of str or None
        Lower case, folded like the texts.
    preprocess : callable
        Lower-cases a text and, for English, French, German and Spanish, folds its accents.
        With a list of words or None nothing is folded: the language is unknown.

    Raises
    ------
    ValueError
        For a language that is not in :data:`LANGUAGES`.

    Examples
    --------
    >>> words, preprocess = resolve_stop_words("french", caller="doc")
    >>> "tres" in words, preprocess("Très DÉÇU")
    (True, 'tres decu')
    >>> words, preprocess = resolve_stop_words("russian", caller="doc")
    >>> preprocess("Мой Йогурт"), preprocess("Доставка, доставки, доставку")
    ('мо йогурт', 'доставк, доставк, доставк')
    """
    if stop_words is None:
        return None, str.lower
    if isinstance(stop_words, str):
        language = stop_words.lower()
        if language not in _LISTS:
            must = f"one of {', '.join(repr(n) for n in LANGUAGES)}, a list of words or None"
            raise param_error("stop_words", stop_words, must, caller=caller)
        words = _LISTS[language]()
        if language == "russian":
            # scikit-learn preprocesses the stop words too: keep the stems of stems as well
            stems = {stem_russian(w) for w in words}
            return sorted(stems | {stem_russian(s) for s in stems}), stem_russian
        if language in FOLDED_LANGUAGES:
            keep_enye = language == "spanish"

            def preprocess(text: str) -> str:
                return fold_accents(text.lower(), keep_enye=keep_enye)

            return sorted({preprocess(w) for w in words}), preprocess
        return sorted(words), str.lower
    return sorted({str(w).lower() for w in stop_words}), str.lower
