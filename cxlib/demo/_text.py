"""Survey comments and feedback texts, written from small vocabularies per theme."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.demo._settings import _FEEDBACK_CHANNELS

_COMMENTS = {
    "detractor": (
        "Delivery was late again",
        "Prices keep going up",
        "Refund took ages",
        "Quality is not what it was",
        "The app is a pain",
        "Staff were unhelpful",
        "Not impressed",
        "Too many problems lately",
    ),
    "passive": (
        "It was fine",
        "Okay overall",
        "Decent but nothing special",
        "Good prices, slow delivery",
        "Mostly happy",
        "Could be better",
    ),
    "promoter": (
        "Great service",
        "Love the range",
        "Fast delivery, thanks",
        "Always helpful staff",
        "Best shop around",
        "Easy to order in the app",
        "Very happy",
    ),
}


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), size=size)]


def _survey_comments(
    rng: np.random.Generator,
    score: np.ndarray,
    has_comment: np.ndarray,
    comments: dict[str, tuple[str, ...]] | None = None,
) -> np.ndarray:
    out = np.full(len(score), None, dtype=object)
    bands = np.where(score <= 6, "detractor", np.where(score <= 8, "passive", "promoter"))
    for band, options in (comments or _COMMENTS).items():
        mask = has_comment & (bands == band)
        out[mask] = _pick(rng, options, int(mask.sum()))
    return out


_OPENERS = (
    "",
    "",
    "",
    "Hi,",
    "Hello,",
    "Honestly,",
    "Not happy.",
    "Very disappointed:",
    "Second time this month:",
    "I have been a customer for years and",
    "Just so you know,",
    "To whom it may concern,",
    "Sorry to say",
    "Again!",
    "Frankly,",
    "Dear team,",
    "I am writing because",
    "Quick complaint:",
)
_CLOSERS = (
    "",
    "",
    "",
    "Please sort this out.",
    "Very disappointed.",
    "Not acceptable.",
    "I expect better.",
    "Will think twice before ordering again.",
    "Thanks.",
    "Fix it please.",
    "Considering other shops now.",
    "Regards.",
    "Waiting for your answer.",
    "So frustrating.",
    "Shame, I used to like you.",
    "Do better.",
    "Please call me back.",
)
_VAGUE = (
    "the whole experience was bad",
    "nothing works the way it should with you",
    "this was not okay",
    "really poor experience overall",
    "not what I signed up for",
    "I am fed up",
    "you let me down again",
)
_PRAISE_OPENERS = (
    "",
    "",
    "Hi,",
    "Just wanted to say",
    "Honestly,",
    "Wow!",
    "A quick note:",
    "Dear team,",
    "Credit where it is due:",
)
_PRAISE_CLOSERS = ("", "", "Cheers.", "Thanks again.", "Five stars.", "Regards.")

_THEME_VOCAB: dict[str, dict[str, tuple[str, ...]]] = {
    "late_delivery": {
        "article": ("my", "the", "our"),
        "noun": ("delivery", "parcel", "package", "order", "shipment"),
        "problem": (
            "arrived days late",
            "still has not arrived",
            "was delayed again",
            "came a week after the promised date",
            "missed the delivery slot",
            "was late and the courier never called",
        ),
        "extra": (
            "The courier did not show up.",
            "Tracking said out for delivery all day.",
            "No update on the tracking page.",
            "The dispatch date kept moving.",
            "I waited at home for nothing.",
            "Delivery times are a joke.",
        ),
    },
    "refund_hassle": {
        "article": ("my", "the"),
        "noun": ("refund", "return", "money back", "credit note", "reimbursement"),
        "problem": (
            "took weeks to process",
            "was refused without a reason",
            "is still pending",
            "needed five calls to sort out",
            "was only partly paid back",
            "got lost in your returns system",
        ),
        "extra": (
            "I returned the item on time.",
            "The returns form is confusing.",
            "The return label never arrived.",
            "Still waiting for my money.",
            "Nobody can tell me when I get refunded.",
            "Returning things should not be this hard.",
        ),
    },
    "product_quality": {
        "article": ("my", "the", "this"),
        "noun": ("item", "product", "jacket", "kettle", "toy", "blender"),
        "problem": (
            "broke after two days",
            "stopped working within a week",
            "was damaged and cheap",
            "fell apart after one wash",
            "is poor quality",
            "was faulty out of the box",
        ),
        "extra": (
            "The material feels cheap.",
            "It looked nothing like the photos.",
            "The stitching came loose.",
            "Quality has really gone down.",
            "Cheap plastic that cracked.",
            "Not worth the price at all.",
        ),
    },
    "app_problems": {
        "article": ("your", "the"),
        "noun": ("app", "website", "checkout page", "login", "basket"),
        "problem": (
            "keeps crashing",
            "would not let me pay",
            "logged me out repeatedly",
            "showed an error at checkout",
            "is very slow to load",
            "froze after the update",
        ),
        "extra": (
            "The password reset never works.",
            "The page froze twice.",
            "Payment failed with an error code.",
            "I had to use my laptop instead.",
            "The latest update made it worse.",
            "Buttons do nothing on my phone.",
        ),
    },
    "rude_staff": {
        "article": ("your", "the", "one"),
        "noun": ("staff", "cashier", "customer service agent", "store manager", "sales assistant"),
        "problem": (
            "was rude to me",
            "was rude and unhelpful",
            "ignored my question",
            "hung up on me rudely",
            "was dismissive and did not care",
            "was impolite and rude",
        ),
        "extra": (
            "No apology from the staff at all.",
            "The assistant rolled their eyes.",
            "Nobody on the staff offered to help.",
            "I was treated like a nuisance.",
            "Such an unfriendly, rude attitude.",
            "The employee was shouting at me.",
        ),
    },
    "positive": {
        "article": ("your", "the"),
        "noun": ("service", "delivery", "team", "app", "product", "shop", "website"),
        "problem": (
            "was excellent",
            "was really good",
            "made it all really easy",
            "exceeded my expectations",
            "is great",
            "was spot on",
        ),
        "extra": (
            "Thank you!",
            "Will recommend to friends.",
            "Keep it up.",
            "Best shop in town.",
            "Really pleased.",
            "Lovely experience.",
        ),
    },
}

#: The English demo's vocabularies (:func:`_feedback_texts`).
ENGLISH = {
    "openers": _OPENERS,
    "closers": _CLOSERS,
    "vague": _VAGUE,
    "praise_openers": _PRAISE_OPENERS,
    "praise_closers": _PRAISE_CLOSERS,
    "themes": _THEME_VOCAB,
}

# How likely each theme's text arrives through each feedback channel.
_THEME_CHANNELS = {
    "late_delivery": [0.5, 0.1, 0.25, 0.05, 0.1],
    "refund_hassle": [0.45, 0.05, 0.35, 0.1, 0.05],
    "product_quality": [0.4, 0.15, 0.15, 0.2, 0.1],
    "app_problems": [0.2, 0.5, 0.1, 0.0, 0.2],
    "rude_staff": [0.25, 0.05, 0.3, 0.3, 0.1],
    "positive": [0.3, 0.3, 0.05, 0.15, 0.2],
}


def _feedback_texts(
    rng: np.random.Generator,
    theme: np.ndarray,
    theme_names: list[str],
    words: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised texts from templates.

    A text is: opener, ``"<article> NOUN PROBLEM."``, one or two details of its theme,
    sometimes (20% of complaints) a detail of another complaint theme, and a closer. The
    shared openers and closers are filler that a topic model has to look past; 10% of
    complaints are vague (a generic sentence and at most one detail of the theme).
    ``words`` holds the vocabularies (:data:`ENGLISH`, the default, or the Russian demo's).
    """
    words = words or ENGLISH
    vocabularies = words["themes"]
    labels = [*theme_names, "positive"]
    size = len(theme)
    parts = {key: np.empty(size, dtype=object) for key in ("article", "noun", "problem")}
    extra = np.empty(size, dtype=object)
    extra2 = np.full(size, "", dtype=object)
    channel = np.empty(size, dtype=np.int8)
    second = rng.random(size) < 0.6
    for k, label in enumerate(labels):
        mask = theme == k
        m = int(mask.sum())
        vocab = vocabularies[label]
        for key in parts:
            parts[key][mask] = _pick(rng, vocab[key], m)
        # two different details: the second is offset from the first
        n_extra = len(vocab["extra"])
        first = rng.integers(0, n_extra, size=m)
        other = (first + rng.integers(1, n_extra, size=m)) % n_extra
        options = np.array(vocab["extra"], dtype=object)
        extra[mask] = options[first]
        extra2[mask] = np.where(second[mask], " " + options[other], "")
        probs = np.asarray(_THEME_CHANNELS[label], dtype=float)
        channel[mask] = rng.choice(len(_FEEDBACK_CHANNELS), size=m, p=probs / probs.sum())
    n_themes = len(theme_names)
    other_theme = (theme + rng.integers(1, n_themes, size=size)) % n_themes
    cross = (rng.random(size) < 0.2) & (theme < n_themes)
    cross_extra = np.full(size, "", dtype=object)
    for k, label in enumerate(theme_names):
        mask = cross & (other_theme == k)
        cross_extra[mask] = " " + _pick(rng, vocabularies[label]["extra"], int(mask.sum()))
    positive = theme == n_themes
    # Some complaints are vague: a generic sentence and at most one hint of the theme.
    vague = (rng.random(size) < 0.1) & ~positive
    n_vague = int(vague.sum())
    parts["article"][vague] = ""
    parts["noun"][vague] = _pick(rng, words["vague"], n_vague)
    parts["problem"][vague] = ""
    extra2[vague] = ""
    cross_extra[vague] = ""
    extra[vague] = np.where(rng.random(n_vague) < 0.5, extra[vague], "")
    openers = _pick(rng, words["openers"], size)
    openers[positive] = _pick(rng, words["praise_openers"], int(positive.sum()))
    closers = _pick(rng, words["closers"], size)
    closers[positive] = _pick(rng, words["praise_closers"], int(positive.sum()))
    article = parts["article"]
    new_sentence = np.array([o == "" or o.endswith((".", "!")) for o in openers], dtype=bool)
    article[new_sentence] = [a[:1].upper() + a[1:] for a in article[new_sentence]]
    text = (
        openers
        + " "
        + article
        + " "
        + parts["noun"]
        + " "
        + parts["problem"]
        + "."
        + extra
        + extra2
        + cross_extra
        + " "
        + closers
    )
    text = pd.Series(text).str.replace(r"\s+", " ", regex=True).str.replace(" .", ".")
    text = text.str.replace(r"\.(?=\S)", ". ", regex=True).str.strip()
    text = text.str[:1].str.upper() + text.str[1:]
    return text.to_numpy(dtype=object), channel
