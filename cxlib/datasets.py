"""Real data sets with published results: the CDNOW purchase data that ships inside lifetimes.

CDNOW is the data set of Fader, Hardie and Lee (2005), "Counting your customers the easy way":
the purchases of a cohort of customers who first bought at the CDNOW music store in the first
quarter of 1997, followed until the end of June 1998. The published BG/NBD and Gamma-Gamma
estimates were fitted on the 1/10 sample (2,357 customers) with a 39-week calibration period
ending 1997-09-30; they are given here so tests can pin cxlib's models to them.

The files are read from the installed lifetimes package without importing it (importing
lifetimes is slow); no network access is needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from cxlib.data import load_transactions

__all__ = [
    "CDNOW_CALIBRATION_END",
    "CDNOW_PUBLISHED_BGNBD",
    "CDNOW_PUBLISHED_GAMMA_GAMMA",
    "load_cdnow_summary",
    "load_cdnow_transactions",
]

#: Last day of the 39-week calibration period of the published CDNOW analyses.
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")

#: BG/NBD estimates on the CDNOW sample summary (Fader, Hardie & Lee 2005, weeks).
CDNOW_PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

#: Gamma-Gamma estimates on the CDNOW sample's repeat customers (Fader, Hardie & Lee 2005,
#: "RFM and CLV: using iso-value curves for customer base analysis").
CDNOW_PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def _lifetimes_file(name: str) -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "cxlib.datasets needs the lifetimes package (pip install lifetimes), which ships "
            "the CDNOW files"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / name
    if not path.is_file():
        raise FileNotFoundError(f"lifetimes does not ship {name} (looked for {path})")
    return path


def load_cdnow_transactions(*, sample: bool = True) -> pd.DataFrame:
    """Load the CDNOW purchases as a canonical transactions frame.

    Parameters
    ----------
    sample : bool, default True
        ``True``: the 1/10 sample (2,357 customers, 6,919 purchases; ``CDNOW_sample.txt``)
        whose ``customer_id`` values ("1" to "2357") match :func:`load_cdnow_summary`.
        ``False``: the full cohort (23,570 customers, 69,659 purchases; ``CDNOW_master.txt``).

    Returns
    -------
    DataFrame
        ``customer_id`` (str, without leading zeros), ``date`` (datetime64[ns]),
        ``amount`` (float64, US dollars), ``number_of_cds`` (int64); 1997-01-01 to 1998-06-30.
        Several purchases on one day are separate rows. ``attrs["quality"]`` as for
        :func:`cxlib.data.load_transactions`.

    Examples
    --------
    >>> tx = load_cdnow_transactions()
    >>> len(tx), tx["customer_id"].nunique()
    (6919, 2357)
    """
    if sample:
        name = "CDNOW_sample.txt"
        raw = pd.read_csv(
            _lifetimes_file(name),
            sep=r"\s+",
            header=None,
            names=["master_id", "customer_id", "date", "number_of_cds", "amount"],
            dtype={"master_id": str, "customer_id": str, "date": str},
        )
    else:
        name = "CDNOW_master.txt"
        raw = pd.read_csv(
            _lifetimes_file(name),
            sep=r"\s+",
            header=0,
            names=["customer_id", "date", "number_of_cds", "amount"],
            dtype={"customer_id": str, "date": str},
        )
    frame = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].str.lstrip("0"),
            "date": raw["date"],
            "amount": raw["amount"].astype("float64"),
            "number_of_cds": raw["number_of_cds"].astype("int64"),
        }
    )
    transactions = load_transactions(frame, date_format="%Y%m%d")
    transactions.attrs["quality"] = [
        {**record, "source": name} for record in transactions.attrs["quality"]
    ]
    return transactions


def load_cdnow_summary() -> pd.DataFrame:
    """Load the published calibration summary of the CDNOW sample (39 weeks to 1997-09-30).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (str, "1" to "2357", as in
        ``load_cdnow_transactions(sample=True)``), with lifetimes' columns in weeks:
        ``frequency`` (int64, repeat purchase days), ``recency`` (first to last purchase),
        ``T`` (first purchase to 1997-09-30) and ``monetary_value`` (mean value of the repeat
        purchases, 0 when there are none).

    Examples
    --------
    >>> summary = load_cdnow_summary()
    >>> summary.loc["1"].round(2).to_dict()
    {'frequency': 2.0, 'recency': 30.43, 'T': 38.86, 'monetary_value': 22.35}
    """
    raw = pd.read_csv(_lifetimes_file("cdnow_customers_summary_with_transactions.csv"))
    summary = pd.DataFrame(
        {
            "frequency": raw["x"].astype("int64").to_numpy(),
            "recency": raw["t_x"].astype("float64").to_numpy(),
            "T": raw["T"].astype("float64").to_numpy(),
            "monetary_value": raw["zbar"].astype("float64").to_numpy(),
        },
        index=pd.Index(raw["ID"].astype(str), name="customer_id"),
    )
    return summary
