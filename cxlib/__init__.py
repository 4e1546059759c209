"""cxlib: customer-experience analytics, from raw client exports to a reproducible report.

The package is built in layers, each importing only from those below it (``make lint`` checks
it): :mod:`cxlib.settings` (settings, units, validation) < :mod:`cxlib.data` (loaders, engines)
and :mod:`cxlib.demo` < :mod:`cxlib.customers` (the customer base) < the analyses
(:mod:`cxlib.nps`; :mod:`cxlib.clv` and :mod:`cxlib.segmentation`; :mod:`cxlib.churn`,
:mod:`cxlib.feedback` and :mod:`cxlib.experiments`) < :mod:`cxlib.run` (:func:`open_client`,
the one client of a run) < :mod:`cxlib.report` and :mod:`cxlib.plots` < the command line.

Submodules are imported on first use, so ``import cxlib`` stays fast and has no side effects::

    import cxlib
    demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    summary = cxlib.clv.rfm_summary(demo.transactions)
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from cxlib.settings.validation import DataError

try:
    __version__ = version("cxlib")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DataError",
    "__version__",
    "churn",
    "clv",
    "customers",
    "data",
    "demo",
    "experiments",
    "feedback",
    "nps",
    "open_client",
    "plots",
    "report",
    "run",
    "segmentation",
    "settings",
]
_SUBMODULES = frozenset(__all__) - {"DataError", "__version__", "open_client"}


def __getattr__(name: str):
    # Lazy submodules: `cxlib.clv` works after a bare `import cxlib` without importing
    # matplotlib, lifelines or papermill up front.
    if name == "open_client":
        from cxlib.run.client import open_client

        return open_client
    if name in _SUBMODULES:
        return importlib.import_module(f"cxlib.{name}")
    raise AttributeError(f"module 'cxlib' has no attribute {name!r}")


def __dir__():
    return __all__
