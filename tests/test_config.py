"""Tests for cxlib.settings.config (YAML validation) and cxlib.run.loading (loading the tables)."""

from __future__ import annotations

import hashlib
import textwrap

import pandas as pd
import pytest
import yaml

from cxlib import DataError
from cxlib.run.loading import ClientTables as Client
from cxlib.run.loading import load_client
from cxlib.settings.config import (
    AnalysisConfig,
    ClientConfig,
    TableConfig,
    file_sha256,
    load_config,
)
from tests.conftest import ROOT

TRANSACTIONS = "Kunde;Datum;Umsatz;Kanal\nA;05/01/2024;10,0;web\nB;29/02/2024;-3;app\n"


def make_client(tmp_path, config_text, files=None):
    """Write ``files`` under tmp_path/data and the config as tmp_path/clients/acme.yaml."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, content in (files or {"tx.csv": "customer_id,date,amount\nA,2024-01-05,1\n"}).items():
        (data / name).write_text(content, encoding="utf-8")
    clients = tmp_path / "clients"
    clients.mkdir(exist_ok=True)
    path = clients / "acme.yaml"
    path.write_text(textwrap.dedent(config_text), encoding="utf-8")
    return path


MINIMAL = textwrap.dedent("""\
    client: acme
    data_dir: ../data
    tables:
      transactions: {path: tx.csv}
    """)


def test_minimal_config_is_valid_with_defaults(tmp_path):
    config = load_config(make_client(tmp_path, MINIMAL))
    assert isinstance(config, ClientConfig)
    assert config.client == "acme"
    assert config.currency == "EUR"
    assert config.data_dir == (tmp_path / "data").resolve()
    assert config.table_path("transactions") == (tmp_path / "data" / "tx.csv").resolve()
    assert config.analysis == AnalysisConfig()
    assert config.tables["transactions"] == TableConfig(path="tx.csv")


# Each case: config text -> the DataError it must raise (a regular expression).
INVALID_CONFIGS = {
    "unknown_top_level_key": (
        MINIMAL + "curency: USD\n",
        r"acme\.yaml: invalid client config: curency: unknown key; did you mean `currency:`\?",
    ),
    "unknown_table_option": (
        """\
        client: acme
        data_dir: ../data
        tables:
          transactions: {path: tx.csv, colums: {customer_id: id}}
        """,
        r"tables\.transactions\.colums: unknown key; did you mean `columns:`\?",
    ),
    "unknown_analysis_setting": (
        MINIMAL + "analysis: {horizon_month: 6}\n",
        r"analysis\.horizon_month: unknown key; did you mean `horizon_months:`\?",
    ),
    "out_of_range_setting": (
        MINIMAL + "analysis: {horizon_months: 0}\n",
        r"analysis\.horizon_months: Input should be greater",
    ),
    "unknown_table": (
        MINIMAL + "  returns: {path: tx.csv}\n",
        r"tables: unknown table\(s\) \['returns'\]",
    ),
    "at_least_one_table_is_required": (
        """\
        client: acme
        data_dir: ../data
        tables: {}
        """,
        r"at least one table is required",
    ),
    "promoter_min_must_be_above_detractor_max": (
        MINIMAL + "analysis: {promoter_min: 6, detractor_max: 7}\n",
        r"promoter_min \(6\) must be above detractor_max \(7\), e\.g\. `promoter_min: 9`",
    ),
    "client_name_must_be_a_plain_identifier": (
        MINIMAL.replace("client: acme", "client: acme/../x"),
        r"client: String should match pattern",
    ),
    "missing_data_file": (
        MINIMAL.replace("tx.csv", "missing.csv"),
        r"tables\.transactions\.path: file .*missing\.csv does not exist",
    ),
    "missing_data_dir": (
        MINIMAL.replace("../data", "../elsewhere"),
        r"data_dir .*elsewhere does not exist",
    ),
    "path_escaping_the_data_folder_relative": (
        MINIMAL.replace("tx.csv", "../clients/acme.yaml"),
        r"tables\.transactions\.path .* escapes the client's data folder",
    ),
    "path_escaping_the_data_folder_absolute": (
        MINIMAL.replace("tx.csv", "/etc/hostname"),
        r"tables\.transactions\.path .* escapes the client's data folder",
    ),
    "bad_yaml": (
        "client: acme\ntables: [unclosed\n",
        r"acme\.yaml: not valid YAML",
    ),
    "yaml_that_is_not_a_mapping": (
        "- client\n- acme\n",
        r"expected a mapping of settings, got list",
    ),
}


@pytest.mark.parametrize(
    ("config_text", "message"), list(INVALID_CONFIGS.values()), ids=list(INVALID_CONFIGS)
)
def test_invalid_config_is_an_error(tmp_path, config_text, message):
    path = make_client(tmp_path, config_text)
    with pytest.raises(DataError, match=message):
        load_config(path)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"nope\.yaml: client config not found"):
        load_config(tmp_path / "nope.yaml")


def test_notebook_parameters_are_json_ready(tmp_path):
    path = make_client(tmp_path, MINIMAL + "analysis: {calibration_end: 2024-06-30}\n")
    parameters = load_config(path).notebook_parameters()
    assert parameters["calibration_end"] == "2024-06-30"
    assert parameters["client"] == "acme"
    assert parameters["config_path"] == str(path.resolve())
    assert parameters["freq"] == "W"


def test_file_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 5000)
    assert file_sha256(path, chunk_size=1024) == hashlib.sha256(b"x" * 5000).hexdigest()


FULL = """\
    client: acme
    currency: USD
    data_dir: ../data
    tables:
      transactions:
        path: tx.csv
        columns: {customer_id: Kunde, date: Datum, amount: Umsatz, channel: Kanal}
        date_format: "%d/%m/%Y"
      customers: {path: customers.csv}
      surveys: {path: surveys.csv, on_invalid: drop}
      feedback: {path: feedback.txt, encoding: cp1251}
    analysis: {horizon_months: 6}
    """


def test_load_client_loads_every_table_and_the_quality_table(tmp_path):
    path = make_client(
        tmp_path,
        FULL,
        files={
            "tx.csv": TRANSACTIONS.replace("10,0", "10"),
            "customers.csv": "customer_id,region\nA,north\nB,south\n",
            "surveys.csv": "customer_id,date,score\nA,2024-03-01,9\nB,2024-03-02,11\n",
        },
    )
    (tmp_path / "data" / "feedback.txt").write_bytes(
        "customer_id|date|text\nA|2024-03-05|Доставка опоздала\n".encode("cp1251")
    )
    with pytest.warns(UserWarning, match=r"surveys\.csv\): set aside 1 of 2 rows"):
        client = load_client(path)
    assert isinstance(client, Client)
    assert client.analysis.horizon_months == 6
    assert client.transactions.to_dict("list") == {
        "customer_id": ["A", "B"],
        "date": [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-02-29")],
        "amount": [10.0, -3.0],
        "channel": ["web", "app"],
    }
    assert client.customers["region"].tolist() == ["north", "south"]
    assert client.surveys["score"].tolist() == [9]
    assert client.feedback["text"].tolist() == ["Доставка опоздала"]
    assert client.quality[["table", "rows_read", "rows_kept", "rows_set_aside", "reason"]].to_dict(
        "records"
    ) == [
        {
            "table": "transactions",
            "rows_read": 2,
            "rows_kept": 2,
            "rows_set_aside": 0,
            "reason": "none",
        },
        {
            "table": "transactions",
            "rows_read": 2,
            "rows_kept": 2,
            "rows_set_aside": 0,
            "reason": "kept: negative amount (refund or cancellation line)",
        },
        {
            "table": "customers",
            "rows_read": 2,
            "rows_kept": 2,
            "rows_set_aside": 0,
            "reason": "none",
        },
        {
            "table": "surveys",
            "rows_read": 2,
            "rows_kept": 1,
            "rows_set_aside": 1,
            "reason": "score not an integer 0-10",
        },
        {
            "table": "feedback",
            "rows_read": 1,
            "rows_kept": 1,
            "rows_set_aside": 0,
            "reason": "none",
        },
    ]


def test_a_client_without_transactions_is_accepted(tmp_path):
    # surveys only: every page that needs transactions is skipped by the report, not refused here
    path = make_client(
        tmp_path,
        MINIMAL.replace("transactions: {path: tx.csv}", "surveys: {path: s.csv}"),
        files={"s.csv": "customer_id,date,score\nA,2024-03-01,9\n"},
    )
    client = load_client(path)
    assert client.transactions is None and client.surveys["score"].tolist() == [9]


HISTORY = "customer_id,date,amount\n" + "".join(
    f"A,{day:%Y-%m-%d},5\n" for day in pd.date_range("2024-01-01", "2024-05-20", freq="7D")
)  # 20 weeks


@pytest.mark.parametrize(
    ("analysis", "message"),
    [
        (
            "calibration_end: 2023-06-01",
            r"analysis\.calibration_end: 2023-06-01 must be after "
            r"the first transaction \(2024-01-01\)",
        ),
        (
            "calibration_end: 2024-06-01",
            r"analysis\.calibration_end: .* before the observation "
            r"end \(2024-05-20\)",
        ),
        ("holdout_weeks: 26", r"analysis\.holdout_weeks: 26 is not shorter than the 20 weeks"),
    ],
)
def test_settings_are_checked_against_the_data_when_the_client_loads(tmp_path, analysis, message):
    path = make_client(tmp_path, MINIMAL + f"analysis: {{{analysis}}}\n", files={"tx.csv": HISTORY})
    with pytest.raises(DataError, match=message):
        load_client(path)


def test_settings_inside_the_data_pass_the_checks(tmp_path):
    text = MINIMAL + "analysis: {calibration_end: 2024-03-01, holdout_weeks: 6}\n"
    client = load_client(make_client(tmp_path, text, files={"tx.csv": HISTORY}))
    assert client.analysis.holdout_weeks == 6


def test_load_client_leaves_absent_tables_as_none(tmp_path):
    client = load_client(make_client(tmp_path, MINIMAL))
    assert client.customers is None and client.surveys is None and client.feedback is None
    assert client.quality["table"].tolist() == ["transactions"]


def test_load_client_passes_data_errors_through_with_the_file_and_column(tmp_path):
    path = make_client(
        tmp_path,
        FULL.replace('date_format: "%d/%m/%Y"', 'date_format: "%Y"'),
        files={
            "tx.csv": TRANSACTIONS.replace("10,0", "10"),
            "customers.csv": "customer_id\nA\n",
            "surveys.csv": "customer_id,date,score\n",
            "feedback.txt": "customer_id|date|text\n",
        },
    )
    with pytest.raises(DataError, match=r"tx\.csv\): column 'Datum' \(canonical 'date'\)"):
        load_client(path)


def test_demo_config_is_valid_and_loads_files_of_the_demo_layout(tmp_path):
    demo = yaml.safe_load((ROOT / "clients" / "demo.yaml").read_text(encoding="utf-8"))
    demo["data_dir"] = str(tmp_path / "demo")
    (tmp_path / "demo").mkdir()
    contents = {
        "transactions": "customer_id,date,amount\nC1,2024-01-05,12.5\n",
        "customers": "customer_id,acquisition_cost,signup_date\nC1,30.0,2023-12-01\n",
        "surveys": "customer_id,date,score,comment\nC1,2024-02-01,8,ok\n",
        "feedback": "customer_id,date,text\nC1,2024-02-03,late parcel\n",
        "experiments": "customer_id,experiment,group,start,end\n"
        "C1,autumn_coupon_2025,control,2024-01-01,2024-01-05\n"
        "C2,autumn_coupon_2025,sms,2024-01-01,2024-01-05\n",  # the name demo.yaml gives a cost
    }
    for table, spec in demo["tables"].items():
        file = tmp_path / "demo" / spec["path"]
        data = contents[table].encode("utf-8")
        if file.suffix == ".gz":
            import gzip

            data = gzip.compress(data)
        file.write_bytes(data)
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(demo), encoding="utf-8")
    client = load_client(path)
    assert client.config.client == "demo"
    assert client.transactions["amount"].tolist() == [12.5]
    assert client.customers["signup_date"].tolist() == [pd.Timestamp("2023-12-01")]
    assert client.experiments["end"].tolist() == [pd.Timestamp("2024-01-05")] * 2


def test_a_config_with_several_problems_is_one_error_line(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tx.csv").write_text("customer_id,date,amount\na,2024-01-01,1\n")
    config = tmp_path / "acme.yaml"
    config.write_text(
        "client: acme\ndata_dir: data\ncurency: USD\ntables:\n  transactions: {path: tx.csv}\n"
        "analysis: {horizon_months: 0}\n"
    )
    with pytest.raises(DataError) as error:
        load_config(config)
    message = str(error.value)
    assert "\n" not in message
    assert "curency: unknown key" in message and "analysis.horizon_months" in message


def test_data_errors_at_load_give_hints_in_the_yaml_s_own_words(tmp_path):
    bad_amount = "customer_id,date,amount\nA,2024-01-05,x\n"
    path = make_client(tmp_path, MINIMAL, files={"tx.csv": bad_amount})
    with pytest.raises(DataError) as caught:
        load_client(path)
    message = str(caught.value)
    assert "`on_invalid: drop`" in message and "under tables.transactions in the YAML" in message
    assert "on_invalid='drop'" not in message


def test_a_client_without_amounts_reports_purchases_and_a_currency_it_names_is_refused(tmp_path):
    counts = {"tx.csv": "customer_id,date\nA,2024-01-05\nA,2024-02-05\n"}
    client = load_client(make_client(tmp_path, MINIMAL, counts))
    assert client.config.currency == "purchases"
    assert client.transactions["amount"].tolist() == [1.0, 1.0]
    assert client.config.notebook_parameters()["currency"] == "purchases"
    with_currency = MINIMAL.replace("data_dir:", "currency: USD\ndata_dir:")
    with pytest.raises(DataError, match=r"`currency: USD` is set, but the transactions have no"):
        load_client(make_client(tmp_path, with_currency, counts))
    # with an amount column the currency is the config's
    assert load_client(make_client(tmp_path, with_currency)).config.currency == "USD"


@pytest.mark.parametrize("days", [0, -3, True, "90", 4000])
def test_churn_inactivity_days_must_be_a_plausible_number_of_days(tmp_path, days):
    text = MINIMAL + f"analysis:\n  churn_inactivity_days: {yaml.safe_dump(days).split()[0]}\n"
    with pytest.raises(DataError, match=r"churn_inactivity_days"):
        load_config(make_client(tmp_path, text))
    good = MINIMAL + "analysis:\n  churn_inactivity_days: 120\n"
    assert load_config(make_client(tmp_path, good)).analysis.churn_inactivity_days == 120
