"""cxlib: customer-experience analytics, from raw client exports to a reproducible report.

Submodules are imported on first use, so ``import cxlib`` stays fast and has no side effects::

    import cxlib
    demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    summary = cxlib.clv.rfm_summary(demo.transactions)
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from cxlib._validation import DataError

try:
    __version__ = version("cxlib")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DataError",
    "__version__",
    "actions",
    "audit",
    "cards",
    "churn",
    "client",
    "clv",
    "config",
    "customers",
    "data",
    "datasets",
    "demo",
    "engine",
    "experiments",
    "feedback",
    "headlines",
    "nps",
    "open_client",
    "outlook",
    "plots",
    "present",
    "report",
    "segmentation",
    "summary",
    "trend",
    "wallet",
]
_SUBMODULES = frozenset(__all__) - {"DataError", "__version__", "open_client"}


def __getattr__(name: str):
    # Lazy submodules: `cxlib.clv` works after a bare `import cxlib` without importing
    # matplotlib, lifelines or papermill up front.
    if name == "open_client":
        from cxlib.client import open_client

        return open_client
    if name in _SUBMODULES:
        return importlib.import_module(f"cxlib.{name}")
    raise AttributeError(f"module 'cxlib' has no attribute {name!r}")


def __dir__():
    return __all__
