from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from cxlib import DataError
from cxlib.churn import churn_status
from cxlib.feedback import (
    RUSSIAN_STOP_WORDS,
    find_outcomes,
    find_themes,
    nps_categories,
    outcome_table,
    theme_impact,
    themes_by,
)
from cxlib.feedback._stop_words import fold_accents, resolve_stop_words

ENGLISH = [
    "my parcel arrived late again",
    "the delivery was late and the courier never came",
    "courier delivery days late",
    "the refund is still pending",
    "refund refused, still waiting for my money",
    "money back took weeks, refund pending",
] * 4

RUSSIAN = [
    "посылка пришла с опозданием, курьер не позвонил",
    "доставка опять опоздала на неделю, курьер не приехал",
    "курьер опоздал, доставка сорвана",
    "возврат денег до сих пор не пришёл",
    "мне отказали в возврате денег без причины",
    "деньги за возврат не вернули уже месяц",
] * 4


def _feedback(texts, **columns):
    frame = pd.DataFrame({"text": texts, **columns})
    frame.insert(0, "customer_id", [f"c{i}" for i in range(len(texts))])
    frame.insert(1, "date", pd.Timestamp("2024-01-01"))
    return frame


def test_two_obvious_themes_are_found_named_and_assigned():
    result = find_themes(_feedback(ENGLISH), n_themes=2)
    names = set(result.themes["name"])
    assert any("late" in name or "delivery" in name or "courier" in name for name in names)
    assert any("refund" in name for name in names)
    theme = result.assignments["theme"].to_numpy()
    # texts 0-2 are about delivery, 3-5 about refunds, repeated 4 times
    delivery, refund = theme[[0, 1, 2]], theme[[3, 4, 5]]
    assert len(set(delivery)) == 1 and len(set(refund)) == 1 and delivery[0] != refund[0]
    assert result.themes["n_texts"].sum() == len(ENGLISH)
    assert result.themes["share"].sum() == pytest.approx(1.0)
    assert all(len(quotes) == 3 for quotes in result.themes["quotes"])
    assert list(result.assignments.index) == list(range(len(ENGLISH)))


def test_russian_texts_work_with_russian_stop_words():
    result = find_themes(_feedback(RUSSIAN), n_themes=2, stop_words="russian")
    theme = result.assignments["theme"].to_numpy()
    assert len(set(theme[[0, 1, 2]])) == 1 and len(set(theme[[3, 4, 5]])) == 1
    assert theme[0] != theme[3]
    terms = {term for terms in result.themes["top_terms"] for term in terms}
    assert terms & {"курьер", "доставка", "возврат", "денег", "возврате"}
    assert not terms & RUSSIAN_STOP_WORDS


def test_stop_words_can_be_a_list_or_none():
    with_list = find_themes(_feedback(ENGLISH), n_themes=2, stop_words=["late", "refund"])
    terms = {term for terms in with_list.themes["top_terms"] for term in terms}
    assert not terms & {"late", "refund"}
    without = find_themes(_feedback(ENGLISH), n_themes=2, stop_words=None)
    assert without.n_themes == 2


def test_the_number_of_themes_is_chosen_when_not_given():
    result = find_themes(_feedback(ENGLISH), theme_range=range(2, 5))
    assert list(result.selection["n_themes"]) == [2, 3, 4]
    assert result.n_themes == int(result.selection.sort_values("score").iloc[-1]["n_themes"])


def test_the_same_seed_gives_the_same_themes():
    first = find_themes(_feedback(ENGLISH), n_themes=2, seed=3)
    second = find_themes(_feedback(ENGLISH), n_themes=2, seed=3)
    pd.testing.assert_frame_equal(first.assignments, second.assignments)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(DataError, match=r"find_themes: missing column\(s\) \['text'\]"):
        find_themes(pd.DataFrame({"comment": ["x"]}))
    with pytest.raises(DataError, match="all 2 are empty"):
        find_themes(pd.DataFrame({"text": ["", None]}))
    with pytest.raises(ValueError, match="The 'n_themes' parameter of find_themes"):
        find_themes(_feedback(ENGLISH), n_themes=1)
    with pytest.raises(ValueError, match="The 'stop_words' parameter of find_themes"):
        find_themes(_feedback(ENGLISH), stop_words="klingon")
    with pytest.raises(DataError, match="too few"):
        find_themes(_feedback(["late parcel", "refund pending"]), n_themes=5)


def test_themes_by_counts_shares_and_lift_per_group():
    channel = ["email"] * 3 + ["call"] * 3
    result = find_themes(_feedback(ENGLISH, channel=channel * 4), n_themes=2)
    table = themes_by(result, "channel")
    delivery_theme = result.assignments["theme"].iloc[0]
    row = table[(table["group"] == "email") & (table["theme"] == delivery_theme)].iloc[0]
    assert row["n_texts"] == 12 and row["share"] == 1.0 and row["lift"] == pytest.approx(2.0)
    segments = pd.Series(["a"] * 12 + ["b"] * 12, index=[f"c{i}" for i in range(24)])
    by_segment = themes_by(result, segments)
    assert by_segment.groupby("group")["n_texts"].sum().to_dict() == {"a": 12, "b": 12}


def test_theme_impact_matches_hand_computed_churn_and_revenue():
    # Two themes; data end 2024-12-31; churn = no purchase in the last 180 days (after 2024-07-04).
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "date": pd.to_datetime(["2024-03-01"] * 4),
            "text": ["parcel late courier", "late parcel courier", "refund pending money",
                     "money refund pending"],
        }
    )  # fmt: skip
    result = find_themes(feedback, n_themes=2)
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "d", "d"],
            "date": pd.to_datetime(["2024-01-10", "2024-10-01", "2024-02-01", "2024-02-20",
                                    "2024-05-01", "2024-01-05", "2024-12-31"]),
            "amount": [100.0, 10.0, 50.0, 30.0, 5.0, 80.0, 20.0],
        }
    )  # fmt: skip
    impact = theme_impact(result, tx, churn_days=180)
    late = impact[impact["name"].str.contains("late|parcel|courier")].iloc[0]
    refund = impact[impact["name"].str.contains("refund|money|pending")].iloc[0]
    # late: a (bought in Oct: stays), b (no purchase after Feb: churned) -> 1/2; others c, d: c
    # churned, d stayed -> 1/2. refund: c churned, d stayed -> 1/2; others a stayed, b churned.
    assert (late["churn_rate"], late["churn_others"], late["excess_churn"]) == (0.5, 0.5, 0.0)
    # revenue in the 12 months before 2024-03-01: a 100, b 50 -> 150; c 30, d 80 -> 110
    assert late["revenue"] == 150.0 and refund["revenue"] == 110.0
    assert late["revenue_at_stake"] == 0.0


def test_theme_impact_ranks_by_money_not_by_volume():
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "date": pd.to_datetime(["2024-03-01"] * 6),
            "text": ["parcel late courier"] * 4 + ["refund pending money"] * 2,
        }
    )
    result = find_themes(feedback, n_themes=2)
    # late: 4 small customers, none churned; refund: 2 big customers, both churned.
    tx = pd.DataFrame(
        {
            "customer_id": list("abcdef") + list("abcd"),
            "date": pd.to_datetime(["2024-02-01"] * 6 + ["2024-12-01"] * 4),
            "amount": [10.0] * 4 + [1000.0] * 2 + [10.0] * 4,
        }
    )
    impact = theme_impact(result, tx, churn_days=90)
    top = impact.iloc[0]
    assert "refund" in top["name"] and top["customers"] == 2
    assert top["excess_churn"] == pytest.approx(1.0)
    assert top["revenue_at_stake"] == pytest.approx(2000.0)
    assert impact.iloc[1]["customers"] == 4 and impact.iloc[1]["revenue_at_stake"] == 0.0


def test_theme_impact_checks_its_parameters():
    result = find_themes(_feedback(ENGLISH), n_themes=2)
    tx = pd.DataFrame(
        {"customer_id": ["c0"], "date": pd.to_datetime(["2024-05-01"]), "amount": [1.0]}
    )
    with pytest.raises(ValueError, match="The 'churn_days' parameter of theme_impact"):
        theme_impact(result, tx, churn_days=0)
    with pytest.raises(DataError, match=r"theme_impact: missing column\(s\) \['amount'\]"):
        theme_impact(result, tx.drop(columns="amount"))
    # The one transaction check: text dates and missing amounts are refused, not guessed.
    with pytest.raises(DataError, match=r"theme_impact: column 'date' must hold dates"):
        theme_impact(result, tx.assign(date=["01/05/2024"]))
    with pytest.raises(DataError, match=r"theme_impact: column 'amount' has 1 missing"):
        theme_impact(result, tx.assign(amount=[float("nan")]))


# --- on the demo client -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_themes(small_demo):
    return small_demo, find_themes(small_demo.feedback, seed=0)


def _matching(result, truth):
    table = pd.crosstab(result.assignments["theme"].to_numpy(), truth.to_numpy())
    rows, cols = linear_sum_assignment(-table.to_numpy())
    accuracy = table.to_numpy()[rows, cols].sum() / table.to_numpy().sum()
    return accuracy, dict(zip(table.index[rows], table.columns[cols], strict=True))


def test_on_the_demo_themes_match_the_generators_complaint_themes(demo_themes):
    demo, result = demo_themes
    accuracy, mapping = _matching(result, demo.truth.feedback_themes)
    # Six true groups (five complaint themes + praise) and six themes chosen by the silhouette.
    assert result.n_themes == demo.truth.feedback_themes.nunique()
    # Best one-to-one matching accuracy: measured 0.944-0.968 on five demo seeds (3k-20k
    # customers). Each true theme holds at least ~8% of the texts, so merging or splitting any
    # one of them costs at least ~8 points; 0.90 fails then but tolerates seed-to-seed noise.
    assert accuracy >= 0.90
    assert sorted(mapping.values()) == sorted(demo.truth.feedback_themes.unique())


def test_on_the_demo_complaint_themes_churn_more_than_praise(demo_themes):
    demo, result = demo_themes
    _, mapping = _matching(result, demo.truth.feedback_themes)
    impact = theme_impact(result, demo.transactions).assign(truth=lambda t: t["theme"].map(mapping))
    impact = impact.set_index("truth")
    # Complaints raise dropout in the generator and praise comes from satisfied customers:
    # praise writers churn clearly less than the others, and every complaint theme more than praise.
    assert impact.loc["positive", "ci_high"] < 0
    complaints = impact.drop(index="positive")
    assert (complaints["churn_rate"] > impact.loc["positive", "churn_rate"]).all()
    # refund_hassle has the generator's largest dropout effect (1.4 on the logit) and app_problems
    # the smallest (0.15); their excess churn keeps that order (held on five seeds).
    assert impact.loc["refund_hassle", "excess_churn"] > impact.loc["app_problems", "excess_churn"]
    assert impact.loc["positive", "revenue_at_stake"] == 0.0
    assert impact["revenue_at_stake"].is_monotonic_decreasing


def test_the_themes_figure_ranks_bars_by_money(demo_themes):
    from cxlib import plots

    demo, result = demo_themes
    impact = theme_impact(result, demo.transactions)
    ax = plots.plot_themes_at_stake(impact)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == impact.iloc[0]["name"]  # the top bar is the most money at stake
    assert len(labels) == len(impact)


def test_theme_impact_puts_clv_at_stake_when_clv_is_given():
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "date": pd.to_datetime(["2024-03-01"] * 4),
            "text": ["parcel late courier"] * 2 + ["refund pending money"] * 2,
        }
    )
    result = find_themes(feedback, n_themes=2)
    tx = pd.DataFrame(
        {
            "customer_id": list("abcd") + ["a", "b"],
            "date": pd.to_datetime(["2024-02-01"] * 4 + ["2024-12-01"] * 2),
            "amount": [10.0] * 6,
        }
    )
    clv = pd.Series({"a": 1.0, "b": 2.0, "c": 30.0, "d": 40.0})
    impact = theme_impact(result, tx, clv=clv, churn_days=90).set_index("customers")
    refund = impact[impact["name"].str.contains("refund")].iloc[0]
    # c and d churned, a and b did not: excess churn 1, so all their CLV (70) is at stake
    assert refund["clv"] == 70.0 and refund["clv_at_stake"] == pytest.approx(70.0)


def test_a_russian_corpus_gets_themes_that_match_its_true_themes():
    rng = np.random.default_rng(5)
    vocab = {
        "delivery": (["посылка", "доставка", "заказ"], ["опоздала", "задержалась", "не пришла"],
                     ["Курьер не позвонил.", "Трекинг не обновлялся.", "Ждал весь день."]),
        "refund": (["возврат", "возмещение", "деньги"], ["не вернули", "задерживают", "отказали"],
                   ["Форма возврата непонятная.", "Звонил пять раз.", "Жду деньги месяц."]),
        "quality": (["куртка", "чайник", "игрушка"], ["сломалась", "порвалась", "треснула"],
                    ["Материал дешёвый.", "Качество упало.", "Не стоит своих денег."]),
    }  # fmt: skip
    labels = rng.choice(list(vocab), size=150)
    texts = [
        f"{'Мой' if rng.random() < 0.5 else 'Это'} {rng.choice(vocab[t][0])} "
        f"{rng.choice(vocab[t][1])}. {rng.choice(vocab[t][2])} Пожалуйста, разберитесь."
        for t in labels
    ]
    result = find_themes(_feedback(texts), stop_words="russian", n_themes=3)
    terms = {term for terms in result.themes["top_terms"] for term in terms}
    assert not terms & RUSSIAN_STOP_WORDS
    table = pd.crosstab(result.assignments["theme"].to_numpy(), labels).to_numpy()
    rows, cols = linear_sum_assignment(-table)
    assert table[rows, cols].sum() / table.sum() >= 0.95


# --- languages: stop words and accent folding ---------------------------------------------

# Hand-written corpora (not the demo generator's): three delivery complaints, then three refund
# complaints, repeated four times; the words expected in the themes, and a stop word each
# language's list must remove.
CORPORA = {
    "french": (
        [
            "Ma livraison est arrivée très en retard, le colis était abîmé.",
            "Le colis n'est jamais arrivé, livraison en retard encore une fois.",
            "Livraison très lente, le transporteur ne m'a pas appelé.",
            "Le remboursement n'est toujours pas arrivé après trois semaines.",
            "On m'a refusé le remboursement sans aucune raison.",
            "J'attends mon remboursement depuis un mois, très déçu.",
        ],
        {"livraison", "colis", "retard"}, {"remboursement"}, {"est", "les", "pas", "tres"},
    ),
    "german": (
        [
            "Die Lieferung kam viel zu spät, das Paket war beschädigt.",
            "Mein Paket ist nach zwei Wochen immer noch nicht da, Lieferung verspätet.",
            "Der Kurier hat das Paket zu spät geliefert.",
            "Die Rückerstattung dauert schon einen Monat.",
            "Meine Rückerstattung wurde ohne Grund abgelehnt.",
            "Ich warte immer noch auf mein Geld, Rückerstattung fehlt.",
        ],
        {"paket", "lieferung", "spat"}, {"ruckerstattung"}, {"die", "das", "noch", "immer"},
    ),
    "spanish": (
        [
            "El pedido llegó muy tarde y el paquete estaba roto.",
            "Mi paquete todavía no ha llegado, el envío se retrasó.",
            "El envío tardó una semana más de lo prometido, paquete perdido.",
            "El reembolso no ha llegado después de un año.",
            "Me negaron el reembolso sin ninguna razón, quiero mi dinero.",
            "Sigo esperando el reembolso de mi dinero desde el año pasado.",
        ],
        {"paquete", "envio"}, {"reembolso", "dinero"}, {"el", "mi", "muy", "despues"},
    ),
    "english": (
        ENGLISH[:6], {"late", "delivery", "courier"}, {"refund", "pending", "money"},
        {"the", "was", "my", "and"},
    ),
    "russian": (
        RUSSIAN[:6], {"курьер", "доставка"}, {"возврат", "возврате", "денег"},
        {"не", "на", "мне", "без"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("language", list(CORPORA))
def test_each_language_separates_its_two_themes_without_its_stop_words(language):
    texts, delivery_words, refund_words, stop = CORPORA[language]
    result = find_themes(_feedback(texts * 4), n_themes=2, stop_words=language)
    theme = result.assignments["theme"].to_numpy()
    assert len(set(theme[[0, 1, 2]])) == 1 and len(set(theme[[3, 4, 5]])) == 1
    assert theme[0] != theme[3]
    vocabulary = set(result.vectorizer_.vocabulary_)
    assert not vocabulary & stop
    top = result.themes.set_index("theme")["top_terms"]
    assert set(top[theme[0]]) & delivery_words and set(top[theme[3]]) & refund_words


def test_accents_are_folded_for_latin_languages_but_not_for_russian():
    french = find_themes(_feedback(CORPORA["french"][0] * 4), n_themes=2, stop_words="french")
    vocabulary = set(french.vectorizer_.vocabulary_)
    assert "arrivee" in vocabulary and "decu" in vocabulary
    assert not any(set(word) & set("éèêàçùô") for word in vocabulary)
    # "Très" and "tres" are one word, and a stop word in either spelling.
    assert fold_accents("Très déçu") == "Tres decu"
    words, preprocess = resolve_stop_words("french", caller="test")
    assert preprocess("TRÈS") == "tres" and "tres" in words
    # Labels show the words as customers wrote them, accents included.
    labels = " ".join(french.themes["name"])
    assert "é" in labels or "è" in labels
    german = find_themes(_feedback(CORPORA["german"][0] * 4), n_themes=2, stop_words="german")
    assert "ruckerstattung" in german.vectorizer_.vocabulary_
    assert "Rückerstattung".lower() in " ".join(german.themes["name"]).lower()
    assert fold_accents("Straße") == "Strasse"
    spanish = find_themes(_feedback(CORPORA["spanish"][0] * 4), n_themes=2, stop_words="spanish")
    assert "año" in spanish.vectorizer_.vocabulary_  # ñ is a letter, not an accented n
    assert "envio" in spanish.vectorizer_.vocabulary_
    russian = find_themes(_feedback(RUSSIAN), n_themes=2, stop_words="russian")
    # Russian words are stemmed (Snowball), which writes ё as е, as most Russian texts do
    assert "пришел" in russian.vectorizer_.vocabulary_
    _, preprocess = resolve_stop_words("russian", caller="test")
    assert preprocess("Чайник Йогурт") == "чайник йогурт"  # й is not folded to и
    assert preprocess("доставка доставки доставку") == "доставк доставк доставк"


def test_each_named_language_has_its_own_stop_words():
    for language in ("french", "german", "spanish", "russian", "english"):
        words, _ = resolve_stop_words(language, caller="test")
        assert len(words) > 80
    assert (
        resolve_stop_words("FRENCH", caller="test")[0]
        == resolve_stop_words("french", caller="test")[0]
    )
    words, preprocess = resolve_stop_words(["Élan", "Foo"], caller="test")
    assert words == ["foo", "élan"] and preprocess("Élan") == "élan"  # a list: no folding


# --- labels and quotes ----------------------------------------------------------------------


def test_labels_are_phrases_and_quotes_are_clean_sentences():
    texts = [
        "Hi, my parcel arrived days late. The tracking page never updated. Please fix it.",
        "The tracking page said out for delivery all day. Parcel arrived days late again.",
        "Sorry to say the courier never came. Tracking page useless.",
        "My refund is still pending after a month. Money back please.",
        "Refund still pending, I returned the item on time. Thanks.",
        "Still pending: my refund for the broken kettle. Regards.",
    ] * 4
    result = find_themes(_feedback(texts), n_themes=2)
    for name in result.themes["name"]:
        phrases = name.split(", ")
        assert 1 <= len(phrases) <= 3 and any(" " in phrase for phrase in phrases)
    assert any("tracking page" in name for name in result.themes["name"])
    assert any("refund" in name for name in result.themes["name"])
    # a phrase never spans two sentences ("after a month. Money back") or a comma
    assert not any("month money" in name or "time thanks" in name for name in result.themes["name"])
    for quotes in result.themes["quotes"]:
        assert len(quotes) == 3 and len(set(quotes)) == 3
        for quote in quotes:
            assert isinstance(quote, str) and quote == quote.strip()
            assert quote[-1] in ".!?" and "[" not in quote and "  " not in quote
            assert any(quote in text for text in texts)  # a whole sentence of a real text
            assert quote not in {"Please fix it.", "Thanks.", "Regards."}  # not filler


# --- complaints apart from praise -----------------------------------------------------------

PRAISE = {
    "french": [
        "Service excellent, équipe sympathique, merci !",
        "Super boutique, personnel adorable et prix corrects.",
        "Excellent service, je recommande la boutique à mes amis.",
    ],
    "german": [
        "Toller Service, sehr freundliches Personal, danke!",
        "Super Laden, nettes Personal und faire Preise.",
        "Toller Service, ich empfehle den Laden meinen Freunden.",
    ],
    "spanish": [
        "Servicio excelente, personal muy amable, ¡gracias!",
        "Gran tienda, personal encantador y buenos precios.",
        "Excelente servicio, recomiendo la tienda a mis amigos.",
    ],
}
# Writers' scores: complaints mostly from detractors and passives (one promoter complains),
# praise mostly from promoters (passives praise too); None = never answered the survey.
COMPLAINT_SCORES = [2, 5, 7, 8, 3, 10, None, 6]
PRAISE_SCORES = [10, 9, 8, 9, 10, 7, None, 9]


def _outcome_fixture(language):
    texts, labels, scores = [], [], []
    for repeat in range(len(COMPLAINT_SCORES)):
        for i, text in enumerate(CORPORA[language][0]):
            texts.append(text)
            labels.append("delivery" if i < 3 else "refund")
            scores.append(COMPLAINT_SCORES[(repeat + i) % len(COMPLAINT_SCORES)])
        for i, text in enumerate(PRAISE[language]):
            texts.append(text)
            labels.append("praise")
            scores.append(PRAISE_SCORES[(repeat + i) % len(PRAISE_SCORES)])
    feedback = _feedback(texts)
    feedback["date"] = pd.Timestamp("2024-06-01")
    answered = [i for i, score in enumerate(scores) if score is not None]
    surveys = pd.DataFrame(
        {
            "customer_id": feedback["customer_id"].to_numpy()[answered],
            "date": pd.Timestamp("2024-05-01"),
            "score": [scores[i] for i in answered],
        }
    )
    return feedback, surveys, np.array(labels)


@pytest.mark.parametrize("language", list(PRAISE))
def test_praise_is_reported_apart_from_complaints_in_each_language(language):
    feedback, surveys, labels = _outcome_fixture(language)
    outcomes = find_outcomes(feedback, surveys, n_themes=3, stop_words=language)
    assert len(outcomes.praise.themes) == 1 and len(outcomes.complaints.themes) == 2
    theme = outcomes.assignments["theme"].to_numpy()
    praise_theme = outcomes.praise.themes["theme"].iloc[0]
    assert set(labels[theme == praise_theme]) == {"praise"}
    for k in outcomes.complaints.themes["theme"]:
        assert len(set(labels[theme == k])) == 1 and "praise" not in labels[theme == k]
    row = outcomes.praise.themes.iloc[0]
    assert row["writers_nps"] > 0 and row["promoters"] > row["detractors"]
    assert (outcomes.complaints.themes["writers_nps"] < 0).all()
    assert all(q in " ".join(PRAISE[language]) for q in row["quotes"])


def test_without_praise_evidence_every_theme_stays_a_complaint():
    feedback, surveys, _ = _outcome_fixture("french")
    outcomes = find_outcomes(feedback, None, n_themes=3, stop_words="french")
    assert len(outcomes.praise.themes) == 0 and len(outcomes.complaints.themes) == 3
    assert set(outcomes.assignments["nps_category"]) == {"unrated"}


def test_texts_take_the_answer_before_them_else_the_next_one():
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-04-01", "2024-02-01", "2024-02-01"]
            ),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "x"],
            "date": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-05-01", "2024-01-01"]),
            "score": [3, 10, 8, 9],
        }
    )
    linked = nps_categories(feedback, surveys)
    # a's first text precedes every answer: the next one (3); the second is on the day of the
    # 3; the third follows the 10. b answered only later (8); c never answered.
    assert linked["answer_score"].tolist()[:4] == [3.0, 3.0, 10.0, 8.0]
    assert linked["nps_category"].tolist() == [
        "detractor", "detractor", "promoter", "passive", "unrated"
    ]  # fmt: skip
    custom = nps_categories(feedback, surveys, promoter_min=10, detractor_max=2)
    assert custom["nps_category"].tolist()[:4] == ["passive", "passive", "promoter", "passive"]
    # an undated text stays unrated; a repeated index is kept as it is
    undated = feedback.assign(date=feedback["date"].where(feedback.index != 1))
    undated.index = [0, 0, 1, 1, 2]
    linked = nps_categories(undated, surveys)
    assert linked["nps_category"].tolist()[:3] == ["detractor", "unrated", "promoter"]
    assert list(linked.index) == [0, 0, 1, 1, 2]
    with pytest.raises(DataError, match="'date' must be datetime64"):
        nps_categories(feedback.assign(date="2024-01-01"), surveys)


def test_outcome_table_is_text_only_and_ranked_by_money():
    feedback, surveys, _ = _outcome_fixture("spanish")
    outcomes = find_outcomes(feedback, surveys, n_themes=3, stop_words="spanish")
    customers = feedback["customer_id"]
    tx = pd.DataFrame(
        {
            "customer_id": list(customers) * 2,
            "date": [pd.Timestamp("2024-03-01")] * len(customers)
            + [pd.Timestamp("2024-12-01")] * len(customers),
            "amount": [100.0] * len(customers) + [50.0] * len(customers),
        }
    )
    keep = np.r_[np.ones(len(customers), bool), ~customers.isin(customers[::2]).to_numpy()]
    impact = theme_impact(outcomes.complaints, tx[keep], churn_days=90)
    assert set(impact["theme"]) == set(outcomes.complaints.themes["theme"])
    styled = outcome_table(outcomes.complaints.themes, impact, currency="EUR")
    html = styled.to_html()
    assert all(quote in html for quote in outcomes.complaints.themes["quotes"].iloc[0])
    table = styled.data
    assert table.map(lambda cell: isinstance(cell, str)).all().all()
    text = table.to_string()
    assert "nan" not in text.lower() and "[" not in text and "None" not in text
    assert "Revenue at stake per year (EUR)" in table.columns
    assert list(table["Theme"]) == list(impact["name"])  # ranked like theme_impact
    praise = outcome_table(outcomes.praise.themes).data
    assert praise["What customers say"].iloc[0].startswith("“")


@pytest.fixture(scope="module")
def demo_outcomes(small_demo):
    return small_demo, find_outcomes(small_demo.feedback, small_demo.surveys, seed=0)


def test_on_the_demo_no_complaint_theme_is_praise(demo_outcomes):
    demo, outcomes = demo_outcomes
    truth = demo.truth.feedback_themes.to_numpy()
    theme = outcomes.assignments["theme"].to_numpy()
    complaints = outcomes.complaints.themes
    # Every complaint theme is mostly one of the generator's complaint themes, with hardly any
    # praise in it (before: a "really / shop / pleased / town" theme held 27% of the texts).
    majority = {}
    for k in complaints["theme"]:
        labels = pd.Series(truth[theme == k]).value_counts(normalize=True)
        assert labels.get("positive", 0.0) < 0.05
        majority[k] = labels.index[0]
    complaint_truths = set(truth) - {"positive"}
    assert set(majority.values()) == complaint_truths  # and each true complaint has a theme
    # The praise side holds the generator's praise: nearly all of it, and little else.
    praise = np.isin(theme, outcomes.praise.themes["theme"])
    assert len(outcomes.praise.themes) >= 1
    # measured 0.948 here (3k customers, seed 7): the misses are vague complaints whose words
    # the topic model puts with praise, not praise themes counted as complaints
    assert (truth[praise] == "positive").mean() > 0.90
    assert praise[truth == "positive"].mean() > 0.9
    assert (outcomes.praise.themes["writers_nps"] > 0).all()
    assert (complaints["writers_nps"] < 0).all()


def test_on_the_demo_complaint_money_is_ranked_without_praise(demo_outcomes):
    demo, outcomes = demo_outcomes
    impact = theme_impact(outcomes.complaints, demo.transactions)
    assert set(impact["theme"]) == set(outcomes.complaints.themes["theme"])
    assert impact["revenue_at_stake"].is_monotonic_decreasing
    assert (impact["revenue_at_stake"] > 0).all()  # complaints raise dropout in the generator
    table = outcome_table(outcomes.complaints.themes, impact, currency="EUR").data
    assert table["What customers say"].str.count("“").ge(2).all()


def test_the_config_names_one_of_the_five_languages_or_a_list():
    from pydantic import ValidationError

    from cxlib.settings.config import AnalysisConfig

    for language in ("english", "russian", "french", "german", "spanish"):
        assert AnalysisConfig(feedback_stop_words=language).feedback_stop_words == language
    assert AnalysisConfig(feedback_stop_words=["ok", "thanks"]).feedback_stop_words == [
        "ok", "thanks",
    ]  # fmt: skip
    assert AnalysisConfig(feedback_stop_words=None).feedback_stop_words is None
    with pytest.raises(ValidationError, match="feedback_stop_words"):
        AnalysisConfig(feedback_stop_words="klingon")


def test_the_outcome_table_escapes_client_text():
    from cxlib.feedback import outcome_table

    themes = pd.DataFrame(
        {
            "theme": [0],
            "name": ["<img src=x onerror=alert(1)>"],
            "n_texts": [3],
            "share": [0.5],
            "writers_nps": [-10.0],
            "quotes": [["<script>window.__pwned=1</script>"]],
        }
    )
    page = outcome_table(themes).to_html()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page


def test_theme_impact_reads_churn_from_the_runs_base_and_the_churn_pages_rule():
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "date": pd.to_datetime(["2024-03-01"] * 4),
            "text": ["parcel late courier"] * 2 + ["refund pending money"] * 2,
        }
    )
    result = find_themes(feedback, n_themes=2)
    # End 2024-12-31, 90 days. a last bought on 2024-10-02, exactly 90 days before the end:
    # not silent for "more than 90 days", so the churn page keeps them. c's December purchase is
    # refunded the same day: no purchase (a day with positive net spend), so churned. b never
    # came back, d bought on the last day.
    tx = pd.DataFrame(
        {
            "customer_id": list("abcd") + ["a", "c", "c", "d"],
            "date": pd.to_datetime(["2024-02-01"] * 4 + ["2024-10-02", "2024-12-01",
                                    "2024-12-01", "2024-12-31"]),
            "amount": [10.0] * 5 + [30.0, -30.0, 10.0],
        }
    )  # fmt: skip
    late = lambda table: table[table["name"].str.contains("late")].iloc[0]  # noqa: E731
    impact = theme_impact(result, tx, churn_days=90)
    refund = impact[impact["name"].str.contains("refund")].iloc[0]
    # churned: a no, b yes (late: 1/2); c yes, d no (refund: 1/2): the churn page's status
    status = churn_status(tx, threshold_days=90)["churned"]
    assert status.to_dict() == {"a": False, "b": True, "c": True, "d": False}
    assert late(impact)["churn_rate"] == 0.5 and refund["churn_rate"] == 0.5
    # With the run's base, its churned column is the status and its attrs the follow-up:
    base = pd.DataFrame(
        {"churned": [True, True, False, False], "clv": [1.0, 2.0, 3.0, 4.0]},
        index=pd.Index(list("abcd"), name="customer_id"),
    )
    base.attrs.update(observation_end=pd.Timestamp("2024-12-31"), churn_follow_up_days=90)
    by_base = late(theme_impact(result, tx, base=base))
    assert (by_base["churn_rate"], by_base["churn_others"]) == (1.0, 0.0)
    assert by_base["clv"] == 3.0  # the base's CLV by default
    # a text after the follow-up window's start is not counted ...
    base.attrs["churn_follow_up_days"] = 320
    assert late(theme_impact(result, tx, base=base))["churn_n"] == 0
    # ... unless the definition needs none (a contract's end): every text before the end counts
    base.attrs["churn_follow_up_days"] = None
    assert late(theme_impact(result, tx, base=base))["churn_n"] == 2
