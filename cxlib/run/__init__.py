"""The run: one client's tables, customer base, fitted models and churn, built once.

:func:`open_client` reads the client's YAML and exports (:mod:`cxlib.run.loading`) and returns
the run's :class:`~cxlib.run.client.Client`, whose results are computed on first use and kept
in a disk cache that cannot run code (:mod:`cxlib.run._cache`). :mod:`cxlib.run.value` chooses
and computes the client's lifetime value from the tables it has.
"""

from __future__ import annotations

from cxlib.run import value
from cxlib.run.client import Client, open_client
from cxlib.run.loading import ClientTables, load_client

__all__ = ["Client", "ClientTables", "load_client", "open_client", "value"]
