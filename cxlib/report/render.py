"""The report's one jinja2 environment: every piece of HTML cxlib writes comes from a template.

Templates live in ``cxlib/report/templates/`` and are rendered with autoescaping, so every value
is escaped unless a template marks it safe (stylesheets, tables pandas already escaped). Client
text goes through the ``text`` filter (:func:`cxlib.settings.escape.escape_html`: control and
bidirectional characters removed, then escaped). Numbers come formatted by the caller
(:func:`cxlib.report.present.format_cell`): templates lay out, they do not compute.

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

__all__ = ["environment", "render", "source"]


@cache
def environment() -> Environment:
    """Return the package's jinja2 environment (autoescaping, cxlib's filters)."""
    from cxlib.settings.escape import escape_html

    env = Environment(loader=PackageLoader("cxlib.report", "templates"), autoescape=True)
    env.filters["text"] = lambda value: Markup(escape_html(value))
    return env


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (``"cards.html.j2"``) with ``context``."""
    return environment().get_template(name).render(**context)


def source(name: str) -> str:
    """Return a template file's text as it is (a stylesheet, an nbconvert template)."""
    env = environment()
    return env.loader.get_source(env, name)[0]
