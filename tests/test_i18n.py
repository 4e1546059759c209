"""The report's languages (issue 24): catalogues complete and current, plural forms, locale formats.

English stays byte-for-byte what cxlib wrote before languages existed (tests/test_present.py,
tests/test_units.py and tests/test_plots.py check the same in their own terms); Russian reads
Russian, with CLDR's symbols through Babel.
"""

from __future__ import annotations

import datetime as dt
import re

import nbformat
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.settings import catalogue, i18n
from cxlib.settings.config import load_config
from tests.conftest import ROOT
from tests.test_config import MINIMAL, make_client

NBSP, NNBSP = "\xa0", "\u202f"


@pytest.fixture(autouse=True)
def _english_unless_told(monkeypatch):
    """Each test starts in English, whatever the environment of the suite says."""
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


# --- the catalogues -----------------------------------------------------------------------------


def test_the_committed_template_is_a_fresh_extraction():
    """A reviewer string added or changed without `make i18n` fails here, naming it."""
    from babel.messages.pofile import read_po

    path = i18n.LOCALE_DIR / "cxlib.pot"
    fresh = catalogue.extract()
    if path.read_text(encoding="utf-8") != catalogue.pot_text(fresh):
        with path.open("rb") as handle:
            committed = {m.id for m in read_po(handle) if m.id}
        new = sorted(str(m.id)[:60] for m in fresh if m.id and m.id not in committed)
        pytest.fail(f"cxlib/locale/cxlib.pot is stale: run `make i18n`; new or changed: {new[:5]}")


@pytest.mark.parametrize("lang", i18n.LANGUAGES[1:])
def test_every_catalogued_string_has_a_translation_that_is_not_fuzzy(lang):
    gaps = catalogue.missing(lang)
    assert not gaps, f"{len(gaps)} message(s) untranslated or fuzzy in {lang}: {gaps[:5]}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES[1:])
def test_each_language_catalogue_holds_exactly_the_templates_messages(lang):
    from babel.messages.pofile import read_po

    with i18n.catalogue_path(lang).open("rb") as handle:
        po = read_po(handle, locale=lang)
    template = catalogue.extract()
    assert {m.id for m in po if m.id} == {m.id for m in template if m.id}


def test_the_extraction_finds_python_template_and_notebook_messages():
    found = {m.id: m.locations for m in catalogue.extract() if m.id}
    assert ("week", "weeks") in found  # cxlib/settings/units.py, a plural pair
    assert "Headline numbers" in found  # the index template
    assert "# Executive summary" in found  # a notebook's markdown, one paragraph
    paths = {path for locations in found.values() for path, _ in locations}
    assert {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")} <= paths


def test_a_notebook_paragraph_is_one_message_so_an_edit_invalidates_only_itself(tmp_path):
    cell = "# Title\n\nFirst paragraph, unchanged.\n\n---\n\nSecond paragraph."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(cell)])
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, str(path))
    with path.open("rb") as handle:
        messages = [m for _, _, m, _ in catalogue.extract_notebook(handle, None, None, None)]
    assert messages == ["# Title", "First paragraph, unchanged.", "Second paragraph."]


# --- plural forms and messages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "week", "day"),
    [
        (1, "неделя", "день"),
        (2, "недели", "дня"),
        (5, "недель", "дней"),
        (11, "недель", "дней"),
        (21, "неделя", "день"),
        (22, "недели", "дня"),
        (0, "недель", "дней"),
        (1.5, "недели", "дня"),
    ],
)
def test_russian_has_three_plural_forms(n, week, day):
    with i18n.using("ru"):
        assert i18n.ngettext("week", "weeks", n) == week
        assert i18n.ngettext("day", "days", n) == day
    assert i18n.ngettext("week", "weeks", n) == ("week" if n == 1 else "weeks")


def test_period_names_follow_the_language():
    from cxlib.settings.units import period_name

    assert [period_name("M", n) for n in (1, 2, 5)] == ["month", "months", "months"]
    with i18n.using("ru"):
        assert [period_name("M", n) for n in (1, 2, 5, 21)] == [
            "месяц",
            "месяца",
            "месяцев",
            "месяц",
        ]


def test_the_language_comes_from_the_environment_as_a_kernel_gets_it(monkeypatch):
    assert i18n.language() == "en"
    monkeypatch.setenv(i18n.ENV_VAR, "ru")
    assert i18n.language() == "ru" and i18n.gettext("Contents") == "Содержание"
    with i18n.using("en"):
        assert i18n.gettext("Contents") == "Contents"
    monkeypatch.setenv(i18n.ENV_VAR, "xx")
    with pytest.raises(ValueError, match="CXLIB_LANGUAGE"):
        i18n.language()


# --- locale formats -----------------------------------------------------------------------------


def test_russian_numbers_percentages_money_and_dates():
    with i18n.using("ru"):
        assert i18n.number(1234.5, ",.1f") == f"1{NBSP}234,5"
        assert i18n.number(-1234567, ",.0f") == f"-1{NBSP}234{NBSP}567"
        assert i18n.percent(0.123) == f"12,3{NBSP}%"
        assert i18n.money(2.2e6, "EUR", compact=True, digits=1) == f"2,2{NBSP}млн{NBSP}€"
        assert i18n.money(12_345, "RUB", compact=True) == f"12,3{NBSP}тыс.{NBSP}₽"
        assert i18n.money(2901.42, "EUR") == f"2{NBSP}901{NBSP}€"
        assert i18n.date(dt.date(2026, 12, 7)) == f"7 декабря 2026{NNBSP}г."
        assert i18n.date(pd.Timestamp("2025-10-01 13:00")) == f"1 октября 2025{NNBSP}г."
        assert i18n.month(dt.date(2026, 12, 7)) == f"декабрь 2026{NNBSP}г."


def test_english_formats_are_what_cxlib_always_wrote():
    assert i18n.number(1234.5, ",.1f") == "1,234.5"
    assert i18n.percent(0.123) == "12.3%"
    assert i18n.money(2.2e6, "EUR", compact=True) == "EUR 2.20M"
    assert i18n.money(1.5e9, "EUR", compact=True) == "EUR 1.50B"
    assert i18n.money(45.2, "EUR") == "EUR 45.20"
    assert i18n.date(dt.date(2026, 12, 7)) == "2026-12-07"


def test_reviewer_tables_and_headlines_in_both_languages():
    from cxlib.report.headlines import format_value
    from cxlib.report.present import format_cell, table
    from cxlib.settings.formats import p_value_text

    frame = pd.DataFrame(
        {"segment": ["Champions"], "revenue": [1234567.891], "churn_rate": [0.1234]}
    )
    english = table(frame).cells.iloc[0].tolist()
    assert english == ["Champions", "1,234,568", "12.3%"]
    assert format_value(1234567.8, "currency") == "EUR 1.23M"
    assert p_value_text(0.0421) == "p = 0.042"
    assert table(frame).headers == ["Segment", "Revenue (EUR)", "Churn rate"]
    with i18n.using("ru"):
        assert table(frame).headers == ["Сегмент", "Выручка (EUR)", "Уровень оттока"]
        assert table(frame).cells.iloc[0].tolist() == [
            "Champions",  # client data stays as the client wrote it
            f"1{NBSP}234{NBSP}568",
            f"12,3{NBSP}%",
        ]
        assert format_cell(True, "yesno") == "да"
        assert format_cell(0.0004, "p_value") == "<0,001"
        assert format_cell(pd.Timestamp("2026-12-07"), "date") == f"7 декабря 2026{NNBSP}г."
        assert format_value(1234567.8, "currency") == f"1,23{NBSP}млн{NBSP}€"
        assert format_value(float("nan"), "percent") == "н/д"
        assert p_value_text(0.0421) == "p = 0,042"


def test_money_ticks_on_figures_follow_the_language():
    import matplotlib.pyplot as plt

    from cxlib.plots._base import _count_ticks, _money_ticks, _percent_ticks

    _, ax = plt.subplots()
    ax.set_ylim(0, 1)

    def percent_tick(share):
        formatter = _percent_ticks()
        ax.yaxis.set_major_formatter(formatter)
        return formatter(share, 0)

    assert (_count_ticks(7000), percent_tick(0.2)) == ("7,000", "20%")
    with i18n.using("ru"):
        assert _count_ticks(7000) == f"7{NBSP}000"
        assert percent_tick(0.2) == f"20{NBSP}%"
        ax.set_ylim(0, 0.03)  # a narrow axis: matplotlib gives the ticks decimals
        assert percent_tick(0.025) == f"2,50{NBSP}%"

    assert [_money_ticks(v) for v in (1250, 12_500, 1_250_000)] == ["1,250", "12.5k", "1.25M"]
    with i18n.using("ru"):
        assert [_money_ticks(v) for v in (1250, 12_500, 1_250_000)] == [
            f"1{NBSP}250",
            f"12,5{NBSP}тыс.",
            f"1,25{NBSP}млн",
        ]


# --- templates, notebooks, config, runner --------------------------------------------------------


def test_templates_render_in_the_active_language():
    from cxlib.report.render import render

    toc = [(2, "a", "Heading")]
    assert "<strong>Contents</strong>" in render("page_nav.html.j2", links=[], toc=toc)
    with i18n.using("ru"):
        shown = render("page_nav.html.j2", links=[], toc=toc)
        runs = render("runs.html.j2", client="acme", now="now", runs=[])
    assert "<strong>Содержание</strong>" in shown and "Contents" not in shown
    assert "<html lang='ru'>" in runs and "Запуски отчёта acme" in runs


def test_a_page_in_russian_says_so_and_links_in_russian(tmp_path):
    from cxlib.report.html import export_html

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Заголовок\n\n## Часть")])
    with i18n.using("ru"):
        page = export_html(nb, tmp_path / "p.html", reviewer=True, other_version="p.full.html")
    text = page.read_text(encoding="utf-8")
    assert '<html lang="ru">' in text
    assert "Оглавление отчёта" in text and "Показать код" in text and "Содержание" in text
    english = export_html(nb, tmp_path / "e.html", reviewer=True, other_version="e.full.html")
    assert '<html lang="en">' in english.read_text(encoding="utf-8")


def test_the_runner_runs_a_translated_copy_of_each_notebook(tmp_path):
    from cxlib.report.execute import translated

    source = ROOT / "notebooks" / "02_churn.ipynb"
    assert translated(source, tmp_path) == source  # English: the notebook itself
    with i18n.using("ru"):
        copy = translated(source, tmp_path)
    assert copy == tmp_path / "logs" / "sources" / source.name
    english = nbformat.read(str(source), as_version=4)
    russian = nbformat.read(str(copy), as_version=4)
    assert russian.metadata["cxlib"]["language"] == "ru"
    assert len(russian.cells) == len(english.cells)
    for before, after in zip(english.cells, russian.cells, strict=True):
        if before.cell_type == "code":
            assert after.source == before.source
            continue
        for paragraph in i18n.markdown_paragraphs(before.source):
            assert paragraph not in after.source, f"untranslated: {paragraph[:60]}"
        assert re.search("[а-яё]", after.source)


def test_language_in_the_client_yaml(tmp_path):
    assert load_config(make_client(tmp_path, MINIMAL)).language == "en"
    assert load_config(make_client(tmp_path, MINIMAL + "language: ru\n")).language == "ru"
    with pytest.raises(DataError, match="language"):
        load_config(make_client(tmp_path, MINIMAL + "language: fr\n"))


def test_report_refuses_an_unknown_language_before_writing_anything(tmp_path):
    from cxlib.report import build_report

    with pytest.raises(ValueError, match="'language' parameter of build_report"):
        build_report(ROOT / "clients" / "demo.yaml", out=tmp_path, language="fr")
    assert not any(tmp_path.iterdir())


def test_the_manifest_and_the_kernels_get_the_runs_language(monkeypatch, tmp_path):
    """The kernel's environment carries CXLIB_LANGUAGE (how a notebook learns the language)."""
    import papermill

    from cxlib.report import execute

    seen = {}

    def fake(source, target, **kwargs):
        seen.update(kwargs["kernel_env"])

    monkeypatch.setattr(papermill, "execute_notebook", fake)
    with i18n.using("ru"):
        execute._execute(
            ROOT / "notebooks" / "00_summary.ipynb",
            tmp_path / "out.ipynb",
            {},
            cwd=tmp_path,
            on_cell=None,
            execution_timeout=10,
        )
    assert seen[i18n.ENV_VAR] == "ru"


# --- the Russian-speaking demo client ------------------------------------------------------------


def test_the_russian_demo_is_the_same_business_in_russian():
    from cxlib.demo import make_demo
    from cxlib.demo._russian import RUSSIAN, same_shape
    from cxlib.demo._text import ENGLISH

    assert same_shape(ENGLISH, RUSSIAN)  # the same draws, so the same texts' structure
    english = make_demo(n_customers=400, seed=5)
    russian = make_demo(n_customers=400, seed=5, language="ru")
    for name in ("transactions", "customers", "surveys", "feedback"):
        before, after = getattr(english, name), getattr(russian, name)
        numbers = before.select_dtypes("number").columns
        pd.testing.assert_frame_equal(before[numbers], after[numbers])
    assert set(russian.transactions["category"]) <= {
        "продукты",
        "электроника",
        "товары для дома",
        "одежда",
        "косметика",
        "игрушки",
    }
    assert russian.feedback["text"].str.contains("[а-яё]", regex=True).all()
    assert not russian.feedback["text"].str.contains("[a-z]", regex=True).any()
    comments = russian.surveys["comment"].dropna()
    assert len(comments) and comments.str.contains("[а-яё]", regex=True).all()
    again = make_demo(n_customers=400, seed=5, language="ru")
    pd.testing.assert_frame_equal(russian.feedback, again.feedback)  # same seed, same texts
    with pytest.raises(ValueError, match="'language' parameter of make_demo"):
        make_demo(n_customers=400, seed=5, language="fr")


def test_russian_complaint_themes_fold_inflections_and_match_the_true_themes():
    from cxlib.demo import make_demo
    from cxlib.feedback import find_themes

    demo = make_demo(n_customers=4000, seed=11, language="ru")
    result = find_themes(demo.feedback, stop_words="russian", n_themes=6, seed=0)
    vocabulary = result.vectorizer_.vocabulary_
    assert "доставк" in vocabulary and "доставку" not in vocabulary  # one word, three forms
    found = pd.Series(result.assignments["theme"].to_numpy(), index=demo.feedback.index)
    truth = demo.truth.feedback_themes.set_axis(demo.feedback.index)
    purity = pd.crosstab(truth, found).max(axis=1) / truth.value_counts()
    assert (purity > 0.7).all(), purity
    assert result.themes["name"].str.contains("[а-яё]", regex=True).all()


def test_complaint_quotes_and_money_take_the_languages_marks():
    from cxlib.feedback import outcome_table

    themes = pd.DataFrame(
        {
            "theme": [0],
            "name": ["доставка"],
            "n_texts": [120],
            "share": [0.153],
            "writers_nps": [-42.0],
            "quotes": [["Заказ опоздал.", "Нет новостей."]],
        }
    )
    english = outcome_table(themes).data.iloc[0].tolist()
    assert english[-1] == "“Заказ опоздал.” “Нет новостей.”"
    with i18n.using("ru"):
        assert outcome_table(themes).data.iloc[0].tolist()[-1] == "«Заказ опоздал.» «Нет новостей.»"


def test_the_command_line_takes_a_language_and_refuses_an_unknown_one(tmp_path):
    from typer.testing import CliRunner

    from cxlib.cli import EXIT_DATA_ERROR, app

    runner = CliRunner()
    config = str(ROOT / "clients" / "demo.yaml")
    done = runner.invoke(app, ["report", config, "--language", "fr", "--out", str(tmp_path)])
    assert done.exit_code == EXIT_DATA_ERROR and "'language' parameter" in done.output
    assert not any(tmp_path.iterdir())
    done = runner.invoke(app, ["demo", "--language", "xx", "--out", str(tmp_path / "d")])
    assert done.exit_code == EXIT_DATA_ERROR and not (tmp_path / "d").exists()
    done = runner.invoke(
        app, ["demo", "--language", "ru", "--n-customers", "300", "--out", str(tmp_path / "ru")]
    )
    assert done.exit_code == 0
    feedback = pd.read_csv(tmp_path / "ru" / "feedback.csv")
    assert feedback["text"].str.contains("[а-яё]", regex=True).all()
