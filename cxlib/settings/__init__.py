"""Settings and the pieces every layer shares: pure, no data loaded, no analysis run.

- :mod:`~cxlib.settings.config`: a client's YAML validated into :class:`ClientConfig`
  (:class:`AnalysisConfig`, :class:`Limits`, ...);
- :mod:`~cxlib.settings.validation`: :class:`DataError` and the checks of columns and values;
- :mod:`~cxlib.settings.params`: declared parameter constraints and the one message template
  ("The 'x' parameter of f must be ... Got ... instead.");
- :mod:`~cxlib.settings.units`: the one table of periods (days, per month, per year, names);
- :mod:`~cxlib.settings.dates`: the one date coercer (aware dates to UTC, then naive);
- :mod:`~cxlib.settings.headline`: the :class:`Headline` record a page keeps of a number;
- :mod:`~cxlib.settings.formats`, :mod:`~cxlib.settings.escape`: text for a reader, escaped;
- :mod:`~cxlib.settings.multiplicity`: corrections for many tests at once.
"""

from __future__ import annotations

from cxlib.settings.config import AnalysisConfig, ClientConfig, Limits, load_config
from cxlib.settings.headline import Headline
from cxlib.settings.validation import DataError

__all__ = ["AnalysisConfig", "ClientConfig", "DataError", "Headline", "Limits", "load_config"]
