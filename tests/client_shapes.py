"""Client shapes the demo does not have, built from the demo generator at small sizes.

Each shape is a folder of exports plus a minimal YAML, the way a new client arrives: only the
tables it has, only the settings a consultant would write on day one (none, mostly).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cxlib.demo import DEFAULT_SEGMENTS, make_demo

#: Notebooks each shape runs (the shared fixtures run few notebooks where that proves the point).
ALL = ("01", "02", "03", "04", "05")


def _no_dropout_segments() -> dict:
    """Every latent segment with a dropout probability of about 1e-5: a wholesale client."""
    return {
        name: {"a": 0.01, "b": 1_000.0, "satisfaction_dropout_slope": 0.0}
        for name in DEFAULT_SEGMENTS
    }


def _subscriptions(tx: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The demo's customers as subscribers: a telecom-style export with tenure and churn.

    A customer cancelled when they made no purchase in the last 90 days of the data, on their
    last purchase day; tenure counts the months they were a customer (started months for a
    churner, completed months for an active one); the monthly fee is their average monthly
    spend. Churn thus follows the demo's latent segments, which the acquisition attributes
    partly reveal, so the classifier has something to find.
    """
    end = tx["date"].max()
    last = tx.groupby("customer_id")["date"].max().reindex(customers["customer_id"])
    spend = tx.groupby("customer_id")["amount"].sum().reindex(customers["customer_id"])
    start = customers["signup_date"].to_numpy()
    churned = (last < end - pd.Timedelta(days=90)).to_numpy()
    stop = np.where(churned, last.to_numpy(), end.to_datetime64())
    months = (stop - start) / np.timedelta64(1, "D") / (365.25 / 12)
    tenure = np.where(churned, np.maximum(np.ceil(months), 1), np.floor(months)).astype(int)
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "tenure_months": tenure,
            "churned": churned,
            "monthly_fee": (spend.to_numpy() / np.maximum(months, 1)).round(2),
            # a telecom's total charges: the monthly fee times the months subscribed, a function
            # of tenure every model must leave out
            "total_charges": (spend.to_numpy() / np.maximum(months, 1) * tenure).round(2),
            "acquisition_channel": customers["acquisition_channel"],
            "region": customers["region"],
            "age_band": customers["age_band"],
            "signup_date": customers["signup_date"],
            "contract_end": pd.Series(np.where(churned, stop, np.datetime64("NaT"))),
        }
    )


def _write(folder: Path, tables: dict[str, pd.DataFrame], analysis: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config: dict = {"client": folder.name, "data_dir": ".", "tables": {}}
    for name, frame in tables.items():
        file = f"{name}.csv"
        frame.to_csv(folder / file, index=False, date_format="%Y-%m-%d")
        config["tables"][name] = {"path": file}
    if analysis:
        config["analysis"] = analysis
    path = folder / "client.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_shapes(root: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Write every shape under ``root``; return ``{shape: (config path, notebooks to run)}``."""
    demo = make_demo(n_customers=600, seed=11)
    tx, customers, surveys = demo.transactions, demo.customers, demo.surveys
    shapes: dict[str, tuple[Path, tuple[str, ...]]] = {}

    def add(name, tables, notebooks, analysis=None):
        shapes[name] = (_write(root / name, tables, analysis), notebooks)

    add("transactions_only", {"transactions": tx}, ALL)
    add("transactions_customers", {"transactions": tx, "customers": customers}, ("02",))
    add(
        "surveys_without_feedback",
        {"transactions": tx, "customers": customers, "surveys": surveys},
        ("03",),
    )
    add("surveys_only", {"surveys": surveys.drop(columns="comment")}, ALL)
    contracts = _subscriptions(tx, customers)
    add(
        "customers_only",
        {"customers": contracts.drop(columns=["signup_date", "contract_end"])},
        ALL,
        {"contract_tenure": "tenure_months", "contract_value": "monthly_fee"},
    )
    add(
        "contract_dates",
        {"customers": contracts.drop(columns=["tenure_months", "churned"])},
        ("01", "02", "04"),
        {"contract_value": "monthly_fee"},
    )
    by_month = surveys.assign(period=surveys["date"].dt.strftime("%Y-%m")).drop(columns="date")
    add("transactions_surveys_by_month", {"transactions": tx, "surveys": by_month}, ("02", "03"))
    recent = tx.loc[tx["date"] > tx["date"].max() - pd.Timedelta(weeks=20)]
    add("weeks_20", {"transactions": recent}, ("02", "04"))
    small = make_demo(n_customers=50, seed=5)
    add(
        "customers_50",
        {
            "transactions": small.transactions,
            "customers": small.customers,
            "surveys": small.surveys,
        },
        ALL,
    )
    add("no_category", {"transactions": tx.drop(columns="category")}, ("01",))
    add("one_category", {"transactions": tx.assign(category="all")}, ("01",))
    numeric_ids = {
        "customer_id": lambda f: (
            f["customer_id"].str[1:].astype(int).astype(float).map("{:.1f}".format)
        )
    }
    add(
        "float_ids",
        {"transactions": tx.assign(**numeric_ids), "customers": customers.assign(**numeric_ids)},
        ("01",),
    )
    wholesale = make_demo(n_customers=500, seed=13, segments=_no_dropout_segments())
    add("wholesale_no_dropout", {"transactions": wholesale.transactions}, ("04",))
    shapes["surveys_by_quarter_fr"] = (_write_french_quarterly_surveys(root), ALL)
    return shapes


#: French comments by answer group (a French retailer's export, written in Windows-1252).
_FRENCH_COMMENTS = {
    "promoter": ("Très bon accueil", "Livraison rapide, merci", "Produits de qualité", ""),
    "passive": ("Correct, sans plus", "Les prix ont augmenté", "Ça dépend des magasins", ""),
    "detractor": ("Livraison en retard", "Service client injoignable", "Déçu de la qualité", ""),
}


def _write_french_quarterly_surveys(root: Path) -> Path:
    """A French retailer's NPS survey: a quarter per answer ("T1 2024"), no dates, no other table.

    The export is what such a client sends: French column names, ';' as the delimiter,
    Windows-1252 text, comments with accents; the YAML maps the columns and names the encoding.
    Enough customers for every quarter to have the 30 answers the summary's NPS trend quotes.
    """
    surveys = make_demo(n_customers=2_000, seed=17).surveys
    quarter = surveys["date"].dt.to_period("Q")
    score = surveys["score"].to_numpy()
    group = np.where(score >= 9, "promoter", np.where(score <= 6, "detractor", "passive"))
    pick = np.random.default_rng(17).integers(0, 4, len(surveys))
    export = pd.DataFrame(
        {
            "id_client": surveys["customer_id"],
            "trimestre": [f"T{q.quarter} {q.year}" for q in quarter],
            "note": score,
            "commentaire": [_FRENCH_COMMENTS[g][k] for g, k in zip(group, pick, strict=True)],
        }
    )
    folder = root / "surveys_by_quarter_fr"
    folder.mkdir(parents=True, exist_ok=True)
    export.to_csv(folder / "enquete_nps.csv", sep=";", index=False, encoding="cp1252")
    table = {
        "path": "enquete_nps.csv",
        "encoding": "cp1252",
        "columns": {
            "customer_id": "id_client",
            "period": "trimestre",
            "score": "note",
            "comment": "commentaire",
        },
    }
    config = {"client": folder.name, "data_dir": ".", "tables": {"surveys": table}}
    path = folder / "client.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# --- real exports ---------------------------------------------------------------------------


def real_exports() -> Path | None:
    """The folder of real client exports (``shared/data/real``) beside the repository, or None.

    The lead's checkout sits at ``<root>/main`` and the exports at ``<root>/shared/data/real``; a
    worktree one level deeper finds the same folder one level up. None when it is absent (a
    fresh clone): the tests that read it then skip with that reason.
    """
    for parent in Path(__file__).resolve().parents[1].parents:
        folder = parent / "shared" / "data" / "real"
        if folder.is_dir():
            return folder
    return None


#: Customers kept in the cuts of CDNOW (the full export has 23,570; one build keeps them all).
CDNOW_CUSTOMERS = 5_000


def _cdnow(real: Path, n_customers: int | None = CDNOW_CUSTOMERS) -> pd.DataFrame:
    """CDNOW master as read from its CSV (ids as text), cut to ``n_customers`` seeded customers."""
    tx = pd.read_csv(real / "cdnow" / "transactions.csv.gz", dtype={"customer_id": str})
    if n_customers is not None:
        ids = np.sort(tx["customer_id"].unique())
        keep = np.random.default_rng(7).choice(ids, size=n_customers, replace=False)
        tx = tx.loc[tx["customer_id"].isin(keep)]
    return tx.reset_index(drop=True)


def _write_csv(folder: Path, frame: pd.DataFrame, table: dict, top: dict | None = None) -> Path:
    """Write ``transactions.csv`` and a YAML with the ``table`` options (and ``top`` keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "transactions.csv", index=False)
    config = {"client": folder.name, **(top or {}), "data_dir": "."}
    config["tables"] = {"transactions": {"path": "transactions.csv", **table}}
    path = folder / "client.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_real_shapes(root: Path, real: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Write the shapes cut from the real exports under ``root``; ``{shape: (config, notebooks)}``.

    CDNOW and the grocery log run as they are (their own YAML, in place: nothing is copied);
    the cuts keep 5,000 CDNOW customers where that does not change the point. Each cut's YAML
    holds what a consultant writes on day one: the file, the columns, the currency.
    """
    shapes: dict[str, tuple[Path, tuple[str, ...]]] = {
        "cdnow": (real / "cdnow" / "client.yaml", ALL),
        "grocery": (real / "grocery" / "client.yaml", ALL),
    }
    if (real / "bank" / "client.yaml").is_file():  # a bank: tenure in years, Exited, no purchases
        shapes["bank"] = (real / "bank" / "client.yaml", ALL)
        # the same export once the bank states what a customer brings a year (an assumed 120
        # EUR here): the churn page then prices the risk and ranks actions
        config = yaml.safe_load((real / "bank" / "client.yaml").read_text(encoding="utf-8"))
        config["data_dir"] = str(real / "bank")
        config["analysis"]["contract_value"] = 120.0
        folder = root / "bank_valued"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "client.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        shapes["bank_valued"] = (folder / "client.yaml", ("02",))
    cdnow = _cdnow(real)
    usd = {"currency": "USD"}
    shapes["cdnow_customer_date_amount"] = (
        _write_csv(root / "cdnow_customer_date_amount", cdnow[["customer_id", "date", "amount"]],
                   {}, usd),
        ("02",),
    )  # fmt: skip
    # the raw file's number of CDs: quantity x unit price, one order id per line
    items = pd.DataFrame(
        {
            "order": [f"O{k:06d}" for k in range(len(cdnow))],
            "customer": cdnow["customer_id"],
            "day": cdnow["date"],
            "cds": cdnow["cds"],
            "price_per_cd": cdnow["amount"] / cdnow["cds"],
        }
    )
    columns = {"customer_id": "customer", "date": "day", "quantity": "cds",
               "unit_price": "price_per_cd", "order_id": "order"}  # fmt: skip
    shapes["cdnow_line_items"] = (
        _write_csv(root / "cdnow_line_items", items, {"columns": columns}, usd),
        ("01", "02"),
    )
    grocery = pd.read_csv(real / "grocery" / "transactions.csv.gz", dtype={"customer_id": str})
    shapes["grocery_purchase_counts"] = (
        _write_csv(root / "grocery_purchase_counts", grocery[["customer_id", "date"]], {}),
        ALL,
    )
    year = cdnow.loc[cdnow["date"] < "1998-01-01", ["customer_id", "date", "amount"]]
    shapes["cdnow_one_year"] = (_write_csv(root / "cdnow_one_year", year, {}, usd), ("02", "04"))
    weeks = cdnow.loc[
        pd.to_datetime(cdnow["date"]) < pd.Timestamp("1997-01-01") + pd.Timedelta(weeks=20),
        ["customer_id", "date", "amount"],
    ]
    shapes["cdnow_20_weeks"] = (_write_csv(root / "cdnow_20_weeks", weeks, {}, usd), ALL)
    once = cdnow.drop_duplicates("customer_id")[["customer_id", "date", "amount"]]
    shapes["single_purchase"] = (_write_csv(root / "single_purchase", once, {}, usd), ALL)
    # the same client once the consultant sets the churn threshold the skipped pages ask for
    threshold = {**usd, "analysis": {"churn_inactivity_days": 180}}
    shapes["single_purchase_threshold"] = (
        _write_csv(root / "single_purchase_threshold", once, {}, threshold),
        ("01", "02", "04"),
    )
    full = _cdnow(real, None)
    busiest = full["date"].value_counts().idxmax()
    one_day = full.loc[full["date"] == busiest, ["customer_id", "date", "amount"]]
    shapes["single_day"] = (_write_csv(root / "single_day", one_day, {}, usd), ALL)
    return shapes
