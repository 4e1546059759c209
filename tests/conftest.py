"""Shared fixtures: a headless matplotlib backend, closed figures, and a small seeded demo."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def small_demo():
    """A 3,000-customer demo client: big enough for models, small enough for fast tests."""
    from cxlib.demo import make_demo

    return make_demo(n_customers=3_000, seed=7)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores) for the whole test process: the JVM starts once."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from cxlib.data.engine import spark_session

    return spark_session("local[2]", conf={"spark.sql.shuffle.partitions": "4"})
