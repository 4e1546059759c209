"""The message catalogues: extracting every reviewer string, updating each language's ``.po``.

``make i18n`` runs ``python -m cxlib.settings.catalogue``, the equivalent of ``pybabel extract``
and ``pybabel update`` with one configuration (the ``[tool.cxlib.i18n]`` table is not needed:
it is this module):

- Python: ``cxlib/**/*.py``, the keywords ``_``, ``gettext``, ``ngettext``, ``N_`` and ``Nn_``
  (:mod:`cxlib.settings.i18n`);
- templates: ``cxlib/report/templates/*.j2``, through jinja2's i18n extension
  (``{% trans %}``, ``_()``);
- notebooks: ``notebooks/*.ipynb``, each markdown cell's paragraphs
  (:func:`extract_notebook`, a Babel extractor), so the English notebooks stay the one source of
  each page and a changed paragraph invalidates only its own translation.

The template ``cxlib/locale/cxlib.pot`` is written without line numbers and without a header,
so it changes only when a message does; ``tests/test_i18n.py`` fails when it differs from a
fresh extraction or when a message has no translation (or a fuzzy one) in a language's ``.po``.
No ``.mo`` is compiled: :func:`cxlib.settings.i18n.translations` reads the ``.po`` at run time
(no binary in git, nothing to forget to rebuild).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cxlib.settings.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, catalogue_path, markdown_paragraphs

__all__ = ["ROOT", "extract", "extract_notebook", "missing", "pot_text", "update"]

#: The checkout the catalogue is extracted from (the package's parent folder).
ROOT = Path(__file__).resolve().parents[2]

#: Call names whose string arguments are messages: name -> argument positions (Babel's spec).
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "Nn_": (1, 2),
}

#: Where the messages are, relative to the checkout: (glob, extraction method).
SOURCES = (
    ("cxlib/**/*.py", "python"),
    ("cxlib/report/templates/*.j2", "jinja2"),
    ("notebooks/*.ipynb", "notebook"),
)


def extract_notebook(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor for a notebook: each paragraph of each markdown cell is a message.

    The "line number" is the cell's 1-based position, so a reader of the ``.po`` finds the cell.
    """
    nb = json.loads(fileobj.read().decode("utf-8"))
    for position, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for paragraph in markdown_paragraphs(text):
            yield position, None, paragraph, [f"markdown cell {position}"]


def _method(name: str) -> Any:
    if name == "notebook":
        return extract_notebook
    if name == "jinja2":
        from jinja2.ext import babel_extract

        return babel_extract
    return name


def extract(root: Path = ROOT) -> Any:
    """Return a fresh Babel ``Catalog`` of every message in the checkout at ``root``."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract as babel_extract

    catalog = Catalog(domain=DOMAIN, project="cxlib", fuzzy=False)
    options = {"jinja2": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
    for pattern, name in SOURCES:
        for path in sorted(root.glob(pattern)):
            relative = path.relative_to(root).as_posix()
            with path.open("rb") as handle:
                for lineno, message, comments, context in babel_extract(
                    _method(name),
                    handle,
                    keywords=KEYWORDS,
                    comment_tags=("Translators:",),
                    options=options.get(name, {}),
                    strip_comment_tags=True,
                ):
                    catalog.add(
                        message,
                        None,
                        [(relative, lineno)],
                        auto_comments=comments,
                        context=context,
                    )
    return catalog


def pot_text(catalog: Any) -> str:
    """Return the ``.pot`` text of ``catalog``: no header, no line numbers (stable under edits)."""
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=True, include_lineno=False, sort_output=True, width=99)
    return buffer.getvalue().decode("utf-8")


def update(root: Path = ROOT) -> None:
    """Write ``cxlib.pot`` from a fresh extraction and merge it into each language's ``.po``."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = extract(root)
    (LOCALE_DIR / f"{DOMAIN}.pot").write_text(pot_text(template), encoding="utf-8")
    for lang in LANGUAGES[1:]:
        path = catalogue_path(lang)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang, domain=DOMAIN)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, domain=DOMAIN, project="cxlib")
        catalog.update(template, no_fuzzy_matching=False)
        catalog.fuzzy = False  # the header: a fuzzy header would hide nothing, but reads wrong
        buffer = io.BytesIO()
        write_po(buffer, catalog, include_lineno=False, sort_output=True, width=99)
        if not path.is_file() or _undated(path.read_bytes()) != _undated(buffer.getvalue()):
            path.write_bytes(buffer.getvalue())  # only when a message changed: no date churn


def _undated(text: bytes) -> bytes:
    """Return a ``.po`` file's bytes without its header's creation date."""
    return b"\n".join(
        line for line in text.splitlines() if not line.startswith(b'"POT-Creation-Date:')
    )


def missing(lang: str) -> list[str]:
    """Return the messages of ``lang``'s ``.po`` with no translation or a fuzzy one."""
    from babel.messages.pofile import read_po

    with catalogue_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    gaps = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def main(argv: list[str] | None = None) -> int:
    """``python -m cxlib.settings.catalogue``: extract, update, then list what is untranslated."""
    update()
    status = 0
    for lang in LANGUAGES[1:]:
        gaps = missing(lang)
        if gaps:
            status = 1
            print(f"{lang}: {len(gaps)} message(s) without a translation or fuzzy", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
