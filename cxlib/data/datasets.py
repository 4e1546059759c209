"""Real data sets with published results: CDNOW purchases and the BG/BB donations data.

CDNOW is the data set of Fader, Hardie and Lee (2005), "Counting your customers the easy way":
the purchases of a cohort of customers who first bought at the CDNOW music store in the first
quarter of 1997, followed until the end of June 1998. The published BG/NBD and Gamma-Gamma
estimates were fitted on the 1/10 sample (2,357 customers) with a 39-week calibration period
ending 1997-09-30; they are given here so tests can pin cxlib's models to them.

The donations data of Fader, Hardie & Shang (2010) is the 1995 cohort of 11,104 first-time
supporters of a public radio station, with their repeat donations in the six annual drives
1996-2001, for the BG/BB model.

The files ship inside cxlib (``cxlib/_data``, copied from the lifetimes package where they
were first published with code); no network access and no lifetimes are needed.
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

from cxlib.data import load_transactions

__all__ = [
    "CDNOW_CALIBRATION_END",
    "CDNOW_PUBLISHED_BGNBD",
    "CDNOW_PUBLISHED_GAMMA_GAMMA",
    "CDNOW_PUBLISHED_PARETO_NBD",
    "DONATIONS_PUBLISHED_BGBB",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
]

#: Last day of the 39-week calibration period of the published CDNOW analyses.
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")

#: BG/NBD estimates on the CDNOW sample summary (Fader, Hardie & Lee 2005, weeks).
CDNOW_PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

#: Pareto/NBD estimates on the CDNOW sample summary (weeks; Fader & Hardie's Pareto/NBD
#: notes; log-likelihood -9595.0).
CDNOW_PUBLISHED_PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}

#: BG/BB estimates on the donations data (Fader, Hardie & Shang 2010, table 2; LL -33,225.6).
DONATIONS_PUBLISHED_BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}

#: Gamma-Gamma estimates on the CDNOW sample's repeat customers (Fader, Hardie & Lee 2005,
#: "RFM and CLV: using iso-value curves for customer base analysis").
CDNOW_PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def _data_file(name: str):
    """Return a data file shipped inside cxlib (package data in ``cxlib/_data``)."""
    return files("cxlib").joinpath("_data", name)


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
            _data_file(name + ".gz"),
            sep=r"\s+",
            header=None,
            names=["master_id", "customer_id", "date", "number_of_cds", "amount"],
            dtype={"master_id": str, "customer_id": str, "date": str},
        )
    else:
        name = "CDNOW_master.txt"
        raw = pd.read_csv(
            _data_file(name + ".gz"),
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
    raw = pd.read_csv(_data_file("cdnow_customers_summary_with_transactions.csv"))
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


def load_donations() -> pd.DataFrame:
    """Load the donations data of Fader, Hardie & Shang (2010), one row per donor.

    Returns
    -------
    DataFrame
        11,104 rows indexed by ``customer_id`` ("1" ...), counted in the six annual
        opportunities after the first donation: ``frequency`` (repeat donations), ``recency``
        (the opportunity of the last one, 0 when none) and ``T`` (6); the input of
        ``PurchaseModel("bgbb")``.

    Examples
    --------
    >>> donations = load_donations()
    >>> len(donations), donations["T"].unique().tolist()
    (11104, [6])
    """
    raw = pd.read_csv(_data_file("donations.csv"))
    counts = raw["weights"].to_numpy()
    summary = pd.DataFrame(
        {
            "frequency": raw["frequency"].to_numpy().repeat(counts).astype("int64"),
            "recency": raw["recency"].to_numpy().repeat(counts).astype("int64"),
            "T": raw["periods"].to_numpy().repeat(counts).astype("int64"),
        }
    )
    summary.index = pd.Index((summary.index + 1).astype(str), name="customer_id")
    return summary
