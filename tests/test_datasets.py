"""Tests for cxlib.data.datasets: the CDNOW and donations data shipped inside cxlib."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.data import quality_report
from cxlib.data.datasets import (
    CDNOW_CALIBRATION_END,
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
)


@pytest.fixture(scope="module")
def sample():
    return load_cdnow_transactions()


def test_sample_transactions_are_a_canonical_frame(sample):
    assert list(sample.columns) == ["customer_id", "date", "amount", "number_of_cds"]
    assert sample.dtypes.astype(str).tolist() == ["object", "datetime64[ns]", "float64", "int64"]
    assert len(sample) == 6919
    assert sample["customer_id"].nunique() == 2357
    assert sample["date"].min() == pd.Timestamp("1997-01-01")
    assert sample["date"].max() == pd.Timestamp("1998-06-30")


def test_sample_first_customer_matches_the_file(sample):
    # CDNOW_sample.txt starts: 00004 0001 19970101 2 29.33 / ... 19970118 2 29.73 / ...
    first = sample[sample["customer_id"] == "1"]
    assert first["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "1997-01-01",
        "1997-01-18",
        "1997-08-02",
        "1997-12-12",
    ]
    assert first["amount"].tolist() == [29.33, 29.73, 14.96, 26.48]


def test_sample_quality_record_names_the_file(sample):
    report = quality_report(sample)
    assert (
        report[["source", "rows_read", "rows_kept", "rows_set_aside"]].to_dict("records")
        == [
            {
                "source": "CDNOW_sample.txt",
                "rows_read": 6919,
                "rows_kept": 6919,
                "rows_set_aside": 0,
            }
        ]
        * 3
    )
    # CDNOW has $0 lines and repeated lines: kept, and counted for the reader.
    flagged = dict(zip(report["reason"], report["rows_flagged"], strict=True))
    assert flagged == {
        "none": 0,
        "kept: zero amount": int((sample["amount"] == 0).sum()),
        "kept: identical to an earlier row (duplicate line)": int(sample.duplicated().sum()),
    }


def test_master_transactions_cover_the_whole_cohort():
    master = load_cdnow_transactions(sample=False)
    assert len(master) == 69659
    assert master["customer_id"].nunique() == 23570
    assert master.loc[0, "customer_id"] == "1"


def test_summary_has_lifetimes_columns_indexed_by_customer_id():
    summary = load_cdnow_summary()
    assert summary.index.name == "customer_id"
    assert list(summary.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert len(summary) == 2357
    assert summary.loc["1"].tolist() == [2, 30.43, 38.86, 22.35]


def test_summary_agrees_with_the_sample_transactions(sample):
    summary = load_cdnow_summary()
    calibration = sample[sample["date"] <= CDNOW_CALIBRATION_END]
    by_customer = calibration.groupby("customer_id")["date"]
    first, last = by_customer.min(), by_customer.max()
    frequency = (by_customer.nunique() - 1).reindex(summary.index)
    recency = ((last - first).dt.days / 7).reindex(summary.index)
    age = ((CDNOW_CALIBRATION_END - first).dt.days / 7).reindex(summary.index)
    assert (frequency == summary["frequency"]).all()
    np.testing.assert_allclose(recency, summary["recency"], atol=0.006)
    np.testing.assert_allclose(age, summary["T"], atol=0.006)
    repeaters = summary[summary["frequency"] > 0]
    assert (repeaters["monetary_value"] > 0).all()


def test_donations_expand_the_published_counts_to_one_row_per_donor():
    donations = load_donations()
    assert donations.index.name == "customer_id" and donations.index.is_unique
    assert list(donations.columns) == ["frequency", "recency", "T"]
    assert len(donations) == 11104 and (donations["T"] == 6).all()
    # Fader, Hardie & Shang (2010), table 1: 3,464 donors never gave again, 1,203 gave in
    # every one of the six years
    counts = donations.value_counts(["frequency", "recency"])
    assert counts[(0, 0)] == 3464 and counts[(6, 6)] == 1203
    assert (donations["frequency"] <= donations["recency"]).all()


def test_the_files_ship_inside_cxlib_and_load_without_lifetimes():
    import subprocess
    import sys

    code = (
        "import sys, cxlib.data.datasets as d\n"
        "d.load_cdnow_transactions(sample=False); d.load_cdnow_summary(); d.load_donations()\n"
        "print(sorted({'lifetimes', 'pkg_resources'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
