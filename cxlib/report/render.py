"""The report's one jinja2 environment: every piece of HTML cxlib writes comes from a template.

Templates live in ``cxlib/report/templates/`` and are rendered with autoescaping, so every value
is escaped unless a template marks it safe (stylesheets, tables pandas already escaped). Client
text goes through the ``text`` filter (:func:`cxlib.settings.escape.escape_html`: control and
bidirectional characters removed, then escaped). Numbers come formatted by the caller
(:func:`cxlib.report.present.format_cell`): templates lay out, they do not compute.

Words go through jinja2's i18n extension (``{% trans %}``, ``_()``, with plural forms) into the
run's language (:mod:`cxlib.settings.i18n`), looked up when a template is rendered; ``lang`` is
the language's code (``<html lang>``) and ``number`` formats a number in it.

Examples
--------
>>> render("cards.html.j2", cards=[])[:40]
'<p><em>No segment recorded its numbers: '
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from cxlib.settings.i18n import N_

__all__ = ["environment", "render", "source"]


@cache
def environment() -> Environment:
    """Return the package's jinja2 environment (autoescaping, cxlib's filters)."""
    from cxlib.settings import i18n
    from cxlib.settings.escape import escape_html

    env = Environment(
        loader=PackageLoader("cxlib.report", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.filters["text"] = lambda value: Markup(escape_html(value))
    env.globals["number"] = i18n.number
    return env


#: Words the templates translate by value (a run's status, marked
#: here for the message catalogue.
WORDS = (
    N_("ok"),
    N_("skipped"),
    N_("failed"),
    N_("complete"),
    N_("interrupted"),
    N_("pending"),
)


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (``"cards.html.j2"``) with ``context``, in the language."""
    from cxlib.settings.i18n import language

    return environment().get_template(name).render(**{"lang": language(), **context})


def source(name: str) -> str:
    """Return a template file's text as it is (a stylesheet, an nbconvert template)."""
    env = environment()
    return env.loader.get_source(env, name)[0]
