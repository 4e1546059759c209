"""The Russian-speaking demo client: the same seeded business, named and written in Russian.

:func:`russian` takes the English demo (:func:`cxlib.demo.make_demo`) and returns its copy with
Russian category, channel and acquisition-channel names, and Russian survey comments and
feedback texts written from the same templates (opener, subject, problem, one or two details of
the theme, sometimes a detail of another theme, a closer) and the same themes, so the topic model
has the same structure to find. Every number (customers, purchases, amounts, scores, dates) is
the English demo's: only words change. The texts inflect their words ("доставка", "доставки",
"доставку") as Russian does, which the feedback themes' stemming has to fold
(:mod:`cxlib.feedback._stop_words`). The truth keeps the English theme and category keys.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cxlib.demo._data import DemoData
from cxlib.demo._text import _THEME_VOCAB, _feedback_texts, _survey_comments

__all__ = ["NAMES", "RUSSIAN", "russian", "same_shape"]

#: English demo name -> Russian, for categories, channels, acquisition and feedback channels.
NAMES = {
    "groceries": "продукты",
    "electronics": "электроника",
    "home": "товары для дома",
    "fashion": "одежда",
    "beauty": "косметика",
    "toys": "игрушки",
    "store": "магазин",
    "online": "интернет-магазин",
    "app": "приложение",
    "paid_search": "платный поиск",
    "social": "соцсети",
    "referral": "рекомендации",
    "affiliate": "партнёры",
    "email": "электронная почта",
    "app_review": "отзыв в приложении",
    "call_centre": "колл-центр",
    "social_media": "соцсети",
}

_COMMENTS = {
    "detractor": (
        "Доставка опять опоздала",
        "Цены всё время растут",
        "Возврат денег занял целую вечность",
        "Качество уже не то",
        "Приложение — сплошное мучение",
        "Сотрудники ничем не помогли",
        "Не впечатлило",
        "В последнее время слишком много проблем",
    ),
    "passive": (
        "Нормально",
        "В целом неплохо",
        "Прилично, но ничего особенного",
        "Цены хорошие, доставка медленная",
        "В основном доволен",
        "Могло быть и лучше",
    ),
    "promoter": (
        "Отличный сервис",
        "Нравится ассортимент",
        "Быстрая доставка, спасибо",
        "Сотрудники всегда помогают",
        "Лучший магазин в округе",
        "В приложении легко заказывать",
        "Очень доволен",
    ),
}

# Subjects are masculine nouns and problems agree with them (or are in the present tense), so
# any subject reads with any problem, as in the English templates.
_THEMES = {
    "late_delivery": {
        "article": ("мой", "", "наш"),
        "noun": ("заказ", "последний заказ", "интернет-заказ", "подарочный заказ", "пакет"),
        "problem": (
            "пришёл на несколько дней позже",
            "до сих пор не доставлен",
            "снова задержался",
            "пришёл через неделю после обещанной даты",
            "не привезли в выбранный интервал доставки",
            "опоздал, а курьер так и не позвонил",
        ),
        "extra": (
            "Курьер так и не приехал.",
            "Весь день в отслеживании было написано, что доставка в пути.",
            "На странице отслеживания никаких новостей о доставке.",
            "Дату доставки всё время переносили.",
            "Я зря прождал доставку дома весь день.",
            "Сроки доставки — просто насмешка.",
        ),
    },
    "refund_hassle": {
        "article": ("мой", ""),
        "noun": (
            "возврат",
            "возврат денег",
            "возврат товара",
            "возврат средств",
            "запрос на возврат",
        ),
        "problem": (
            "оформляли несколько недель",
            "отклонили без объяснения причин",
            "до сих пор не провели",
            "провели только после пяти звонков",
            "провели лишь частично",
            "потеряли в вашей системе возвратов",
        ),
        "extra": (
            "Я вернул товар вовремя.",
            "Форма возврата очень запутанная.",
            "Этикетка для возврата так и не пришла.",
            "До сих пор жду свои деньги.",
            "Никто не может сказать, когда мне вернут деньги.",
            "Вернуть товар не должно быть так сложно.",
        ),
    },
    "product_quality": {
        "article": ("мой", "этот", ""),
        "noun": ("товар", "чайник", "блендер", "пиджак", "пылесос", "конструктор"),
        "problem": (
            "сломался через два дня",
            "перестал работать через неделю",
            "пришёл повреждённым и дешёвым на вид",
            "развалился после первого же использования",
            "оказался низкого качества",
            "был неисправен прямо из коробки",
        ),
        "extra": (
            "Материал на ощупь дешёвый.",
            "В жизни совсем не похоже на фото.",
            "Швы разошлись.",
            "Качество сильно упало.",
            "Дешёвый пластик, который треснул.",
            "Совсем не стоит своих денег.",
        ),
    },
    "app_problems": {
        "article": ("ваш", ""),
        "noun": ("сайт", "личный кабинет", "мобильный сайт", "вход в приложение", "раздел оплаты"),
        "problem": (
            "постоянно вылетает",
            "не даёт оплатить заказ",
            "всё время выбрасывает меня из аккаунта",
            "выдаёт ошибку при оформлении заказа",
            "очень долго грузится",
            "зависает после обновления",
        ),
        "extra": (
            "Сброс пароля никогда не работает.",
            "Страница дважды зависла.",
            "Оплата не прошла, приложение выдало код ошибки.",
            "Пришлось заказывать с ноутбука.",
            "После последнего обновления приложение стало ещё хуже.",
            "Кнопки в приложении на телефоне не нажимаются.",
        ),
    },
    "rude_staff": {
        "article": ("ваш", "", "этот"),
        "noun": (
            "сотрудник",
            "кассир",
            "оператор колл-центра",
            "управляющий магазином",
            "продавец-консультант",
        ),
        "problem": (
            "нагрубил мне",
            "был груб и ничем не помог",
            "проигнорировал мой вопрос",
            "грубо бросил трубку",
            "отнёсся ко мне пренебрежительно",
            "вёл себя невежливо и грубо",
        ),
        "extra": (
            "Никто из сотрудников даже не извинился.",
            "Консультант закатил глаза.",
            "Никто из персонала не предложил помощь.",
            "Со мной обращались как с помехой.",
            "Такое недружелюбное, грубое отношение.",
            "Сотрудник на меня кричал.",
        ),
    },
    "positive": {
        "article": ("ваш", ""),
        "noun": ("сервис", "магазин", "сайт", "курьер", "ассортимент", "персонал", "каталог"),
        "problem": (
            "был просто отличным",
            "очень порадовал",
            "оставил только приятные впечатления",
            "превзошёл мои ожидания",
            "на высоте",
            "работает безупречно",
        ),
        "extra": (
            "Спасибо!",
            "Буду рекомендовать друзьям.",
            "Так держать.",
            "Лучший магазин в городе.",
            "Очень доволен.",
            "Прекрасные впечатления.",
        ),
    },
}

#: The Russian demo's vocabularies, each as long as its English counterpart (the same draws).
RUSSIAN = {
    "openers": (
        "",
        "",
        "",
        "Здравствуйте,",
        "Добрый день,",
        "Честно говоря,",
        "Недоволен.",
        "Очень разочарован:",
        "Уже второй раз за месяц:",
        "Я ваш клиент много лет, и",
        "Просто чтобы вы знали,",
        "Уважаемая служба поддержки,",
        "К сожалению,",
        "Опять!",
        "Откровенно говоря,",
        "Уважаемая команда,",
        "Пишу, потому что",
        "Короткая жалоба:",
    ),
    "closers": (
        "",
        "",
        "",
        "Разберитесь, пожалуйста.",
        "Очень разочарован.",
        "Это неприемлемо.",
        "Ожидаю большего.",
        "Подумаю, прежде чем заказывать снова.",
        "Спасибо.",
        "Исправьте, пожалуйста.",
        "Присматриваюсь к другим магазинам.",
        "С уважением.",
        "Жду ответа.",
        "Так обидно.",
        "Жаль, раньше вы мне нравились.",
        "Работайте лучше.",
        "Перезвоните мне, пожалуйста.",
    ),
    "vague": (
        "в целом всё было плохо",
        "у вас ничего не работает как следует",
        "так быть не должно",
        "очень плохой опыт в целом",
        "я ожидал совсем другого",
        "мне это надоело",
        "вы снова меня подвели",
    ),
    "praise_openers": (
        "",
        "",
        "Здравствуйте,",
        "Хочу сказать, что",
        "Честно,",
        "Ух ты!",
        "Пара слов:",
        "Уважаемая команда,",
        "Надо отдать должное:",
    ),
    "praise_closers": ("", "", "Спасибо.", "Ещё раз спасибо.", "Пять звёзд.", "С уважением."),
    "themes": _THEMES,
}


def same_shape(english: dict, russian_words: dict) -> bool:
    """Each Russian vocabulary is as long as the English one (so the draws are the same)."""
    for key, value in english.items():
        if key == "themes":
            for theme, parts in value.items():
                if any(len(parts[k]) != len(russian_words["themes"][theme][k]) for k in parts):
                    return False
        elif len(value) != len(russian_words[key]):
            return False
    return True


def russian(demo: DemoData, seed: int) -> DemoData:
    """Return the Russian-speaking copy of ``demo`` (same numbers, Russian names and texts).

    ``seed`` seeds the texts' draws (the English demo's seed): the same seed, the same texts.

    Examples
    --------
    >>> from cxlib.demo import make_demo
    >>> ru = russian(make_demo(n_customers=300, seed=3), seed=3)
    >>> sorted(ru.transactions["channel"].unique())
    ['интернет-магазин', 'магазин', 'приложение']
    """
    rng = np.random.default_rng([seed, 7])  # the texts' own stream
    names = list(_THEME_VOCAB)[:-1]  # the complaint themes, "positive" last
    themes = demo.truth.feedback_themes.to_numpy()
    index = np.array([names.index(t) if t in names else len(names) for t in themes])
    texts, _ = _feedback_texts(rng, index, names, words=RUSSIAN)
    feedback = demo.feedback.assign(text=texts, channel=demo.feedback["channel"].map(NAMES))
    surveys = demo.surveys.copy()
    if "comment" in surveys:
        has = surveys["comment"].notna().to_numpy()
        comments = _survey_comments(rng, surveys["score"].to_numpy(), has, _COMMENTS)
        surveys["comment"] = pd.Series(comments, index=surveys.index)
    transactions = demo.transactions.copy()
    for column in ("category", "channel"):
        if column in transactions:
            transactions[column] = transactions[column].map(NAMES).fillna(transactions[column])
    customers = demo.customers.copy()
    if "acquisition_channel" in customers:
        column = customers["acquisition_channel"]
        customers["acquisition_channel"] = column.map(NAMES).fillna(column)
    return dataclasses.replace(
        demo, transactions=transactions, customers=customers, surveys=surveys, feedback=feedback
    )
