"""Hostile and surprising client input (issue 14): nothing is silently misread.

Each test is one case that the loaders or the config used to get wrong: dates from the future
or with a UTC offset, ids that change between file types, null markers, control characters,
file names DuckDB read as patterns, absurd amounts, workbooks with several sheets, YAML that
silently kept the last of two keys.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.data import load_customers, load_surveys, load_transactions, quality_report
from cxlib.run.loading import load_client
from cxlib.settings.config import ISO_4217, check_currency, load_config


def write_csv(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def loaded_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_transactions(*args, **kwargs)


# ---- dates


def test_a_transaction_dated_after_the_export_date_is_refused_with_its_row(tmp_path):
    path = write_csv(
        tmp_path / "tx.csv",
        """\
        customer_id,date,amount
        A,2024-01-05,10
        B,2099-01-05,10
        """,
    )
    with pytest.raises(
        DataError,
        match=r"tx\.csv\): column 'date' \(canonical 'date'\): 1 row\(s\)"
        r" with date before 1900-01-01 or after the export date "
        r"\d{4}-\d\d-\d\d: row 3: '2099-01-05'",
    ):
        load_transactions(path)


def test_dates_after_a_configured_observation_end_are_set_aside_and_counted():
    raw = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "date": ["2024-01-05", "2024-06-30", "2024-07-01"],
            "amount": [1, 2, 3],
        }
    )
    with pytest.warns(UserWarning, match="set aside 1 of 3 rows"):
        loaded = load_transactions(raw, on_invalid="drop", observation_end="2024-06-30")
    assert loaded["customer_id"].tolist() == ["A", "B"]  # the whole last day counts
    report = quality_report(loaded)
    assert report.loc[report["rows_set_aside"] > 0, "reason"].tolist() == [
        "date before 1900-01-01 or after the export date 2024-06-30"
    ]


def test_a_contract_end_may_lie_in_the_future_but_a_signup_may_not():
    customers = pd.DataFrame({"customer_id": ["A"], "contract_end": ["2099-01-01"]})
    assert load_customers(customers)["contract_end"].tolist() == [pd.Timestamp("2099-01-01")]
    with pytest.raises(DataError, match=r"signup_date before 1900-01-01 or after the export"):
        load_customers(pd.DataFrame({"customer_id": ["A"], "signup_date": ["2099-01-01"]}))


def test_a_date_before_1900_is_refused():
    raw = pd.DataFrame({"customer_id": ["A"], "date": ["1899-12-30"], "amount": [1.0]})
    with pytest.raises(DataError, match=r"row 0: '1899-12-30'"):
        load_transactions(raw)


def test_an_explicit_utc_offset_is_applied(tmp_path):
    path = write_csv(
        tmp_path / "tx.csv",
        """\
        customer_id,date,amount
        A,2024-01-01T23:30:00-08:00,10
        B,2024-01-01T23:30:00+01:00,10
        C,2024-01-01 23:30:00,10
        """,
    )
    assert load_transactions(path)["date"].tolist() == [
        pd.Timestamp("2024-01-02 07:30"),
        pd.Timestamp("2024-01-01 22:30"),
        pd.Timestamp("2024-01-01 23:30"),
    ]


def test_an_offset_in_a_date_format_is_applied_too():
    raw = pd.DataFrame({"customer_id": ["A"], "date": ["02/01/2024 01:00 +0200"], "amount": [1]})
    loaded = load_transactions(raw, date_format="%d/%m/%Y %H:%M %z")
    assert loaded["date"].tolist() == [pd.Timestamp("2024-01-01 23:00")]


def test_mixed_date_formats_are_named_in_the_error_even_when_dropping(tmp_path):
    path = write_csv(
        tmp_path / "tx.csv",
        """\
        customer_id,date,amount
        A,2024-01-13,10
        B,2024-01-14,10
        C,05/01/2024,10
        """,
    )
    for on_invalid in ("raise", "drop"):
        with pytest.raises(
            DataError,
            match=r"mixes date formats: 2 ISO date\(s\) \(row 2: "
            r"2024-01-13\) and 1 day/month/year or month/day/year "
            r"date\(s\) \(row 4: '05/01/2024'\)\. Pass "
            r"date_format='%d/%m/%Y' or date_format='%m/%d/%Y'",
        ):
            load_transactions(path, on_invalid=on_invalid)


# ---- ids


def test_ids_read_the_same_from_csv_excel_and_parquet(tmp_path):
    pytest.importorskip("openpyxl")
    csv = write_csv(
        tmp_path / "tx.csv",
        """\
        customer_id,date,amount
        17850.0,2024-01-05,1
        13047.0,2024-01-06,2
        """,
    )
    frame = pd.DataFrame(
        {
            "customer_id": [17850.0, 13047.0],
            "date": ["2024-01-05", "2024-01-06"],
            "amount": [1.0, 2.0],
        }
    )
    frame.to_parquet(tmp_path / "tx.parquet")
    frame.to_excel(tmp_path / "tx.xlsx", index=False)
    ids = [
        load_transactions(tmp_path / name)["customer_id"].tolist()
        for name in (csv.name, "tx.parquet", "tx.xlsx")
    ]
    assert ids == [["17850", "13047"]] * 3


def test_a_point_zero_is_kept_when_not_every_id_has_it():
    raw = pd.DataFrame(
        {"customer_id": ["17850.0", "A7", "0042"], "date": ["2024-01-05"] * 3, "amount": [1, 2, 3]}
    )
    assert load_transactions(raw)["customer_id"].tolist() == ["17850.0", "A7", "0042"]


def test_excel_text_ids_keep_their_leading_zeros(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_id", "date", "amount", "region"])
    sheet.append(["007", "2024-01-05", 1.5, "0101"])
    sheet.append(["0042", "2024-01-06", 2, "0202"])
    for row in (2, 3):  # cells typed as text, as a client's Excel export has them
        sheet.cell(row, 1).number_format = "@"
    book.save(tmp_path / "tx.xlsx")
    loaded = load_transactions(tmp_path / "tx.xlsx")
    assert loaded["customer_id"].tolist() == ["007", "0042"]
    assert loaded["region"].tolist() == ["0101", "0202"]
    assert loaded["amount"].tolist() == [1.5, 2.0]


@pytest.mark.parametrize("marker", ["NULL", "N/A", "None", "nan", "-", " null "])
def test_null_markers_are_missing_ids_not_customers(marker):
    raw = pd.DataFrame(
        {"customer_id": ["A", marker], "date": ["2024-01-05"] * 2, "amount": [1.0, 2.0]}
    )
    with pytest.raises(
        DataError,
        match=rf"1 row\(s\) with missing customer_id: row 1: "
        rf"'{marker}'",
    ):
        load_transactions(raw)


@pytest.mark.parametrize("bad", ["A\x00B", "A\tB", "A\x1bB"])
def test_control_characters_in_an_id_are_refused(tmp_path, bad):
    path = tmp_path / "tx.csv"
    path.write_bytes(f"customer_id,date,amount\nOK,2024-01-05,1\n{bad},2024-01-05,1\n".encode())
    with pytest.raises(
        DataError,
        match=r"1 row\(s\) with control character in customer_id: "
        r"row 3: ",
    ):
        load_transactions(path)


def test_identical_rows_are_kept_and_counted(tmp_path):
    path = write_csv(
        tmp_path / "tx.csv",
        """\
        customer_id,date,amount,order_id
        A,2024-01-05,10,o1
        A,2024-01-05,10,o1
        A,2024-01-05,10,o1
        A,2024-01-05,10,o2
        """,
    )
    loaded = load_transactions(path)
    assert len(loaded) == 4
    report = quality_report(loaded).set_index("reason")
    assert report.loc["kept: identical to an earlier row (duplicate line)", "rows_flagged"] == 2


# ---- workbooks


def test_a_workbook_with_several_sheets_needs_a_sheet(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame(
            {"customer_id": ["A", "B"], "date": ["2024-01-05", "2024-01-06"], "amount": [1.0, 2.0]}
        ).to_excel(writer, sheet_name="Orders", index=False)
    with pytest.raises(
        DataError,
        match=r"export\.xlsx\): the workbook has 2 sheets \['Notes', "
        r"'Orders'\]; say which one to read with sheet='Notes' \(a sheet's name, or its "
        r"0-based position\)",
    ):
        load_transactions(path)
    assert load_transactions(path, sheet="Orders")["customer_id"].tolist() == ["A", "B"]
    assert load_transactions(path, sheet=1)["customer_id"].tolist() == ["A", "B"]
    with pytest.raises(DataError, match=r"no sheet 'Order'; the workbook has"):
        load_transactions(path, sheet="Order")


def test_a_sheet_for_a_csv_is_an_error(tmp_path):
    path = write_csv(tmp_path / "tx.csv", "customer_id,date,amount\nA,2024-01-05,1\n")
    with pytest.raises(DataError, match=r"sheet='Orders' is only for Excel workbooks"):
        load_transactions(path, sheet="Orders")


# ---- paths


@pytest.mark.parametrize("name", ["y[12].csv", "x*.csv", "z?.csv", "w{1,2}.csv"])
def test_file_names_are_read_literally(tmp_path, name):
    for other, who in (
        ("y1.csv", "wrong1"),
        ("x1.csv", "wrong2"),
        ("za.csv", "wrong3"),
        ("w1.csv", "wrong4"),
    ):
        write_csv(tmp_path / other, f"customer_id,date,amount\n{who},2024-01-05,1\n")
    write_csv(tmp_path / name, "customer_id,date,amount\nright,2024-01-05,1\n")
    assert load_transactions(tmp_path / name)["customer_id"].tolist() == ["right"]


def test_a_parquet_file_name_is_read_literally(tmp_path):
    pd.DataFrame({"customer_id": ["wrong"], "date": ["2024-01-05"], "amount": [1.0]}).to_parquet(
        tmp_path / "p1.parquet"
    )
    pd.DataFrame({"customer_id": ["right"], "date": ["2024-01-05"], "amount": [1.0]}).to_parquet(
        tmp_path / "p[12].parquet"
    )
    assert load_transactions(tmp_path / "p[12].parquet")["customer_id"].tolist() == ["right"]


# ---- amounts, exclusions, empty files


@pytest.mark.parametrize("amount", ["1e308", "-2e12", "1e13"])
def test_amounts_beyond_a_sane_bound_are_refused(amount):
    raw = pd.DataFrame(
        {"customer_id": ["A", "B"], "date": ["2024-01-05"] * 2, "amount": ["5", amount]}
    )
    with pytest.raises(DataError, match=rf"amount beyond ±1e\+12: row 1: '{amount}'"):
        load_transactions(raw)


def test_refunds_zero_amounts_and_excluded_codes_are_each_counted():
    raw = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B", "B", "C", "C"],
            "date": ["2024-01-05"] * 6,
            "amount": [10.0, -10.0, 0.0, 3.0, 5.0, 2.5],
            "StockCode": ["85123A", "85123A", "22423", "POST", "BANK CHARGES", "M"],
            "order_id": ["536365", "C536379", "536366", "536367", "536368", "536369"],
        }
    )
    rules = [
        {
            "column": "StockCode",
            "values": ["POST", "BANK CHARGES", "M"],
            "reason": "non-product code",
        },
        {"column": "order_id", "prefixes": ["C"]},
    ]
    with pytest.warns(
        UserWarning,
        match=r"set aside 4 of 6 rows: 3 excluded: non-product code, "
        r"1 excluded: order_id in \['C…'\]",
    ):
        loaded = load_transactions(raw, exclude=rules)
    assert loaded["StockCode"].tolist() == ["85123A", "22423"]
    report = quality_report(loaded).set_index("reason")
    assert report.loc["excluded: non-product code", "rows_set_aside"] == 3
    assert report.loc["excluded: order_id in ['C…']", "rows_set_aside"] == 1
    assert report.loc["kept: zero amount", "rows_flagged"] == 1


def test_excluded_rows_are_not_offences_even_when_invalid():
    raw = pd.DataFrame(
        {
            "customer_id": ["A", ""],
            "date": ["2024-01-05"] * 2,
            "amount": [1.0, 2.0],
            "code": ["x", "ADJUST"],
        }
    )
    with pytest.warns(UserWarning, match="1 excluded: code in"):
        loaded = load_transactions(raw, exclude=[{"column": "code", "values": ["ADJUST"]}])
    assert loaded["customer_id"].tolist() == ["A"]


def test_an_exclude_rule_on_an_absent_column_is_an_error():
    raw = pd.DataFrame({"customer_id": ["A"], "date": ["2024-01-05"], "amount": [1.0]})
    with pytest.raises(DataError, match=r"exclude names column\(s\) \['StockCode'\]"):
        load_transactions(raw, exclude=[{"column": "StockCode", "values": ["POST"]}])
    with pytest.raises(ValueError, match=r"The 'exclude' parameter of load_transactions must be"):
        load_transactions(raw, exclude={"column": "StockCode"})


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_a_file_with_a_header_and_no_rows_is_an_error(tmp_path, suffix):
    path = tmp_path / f"surveys{suffix}"
    empty = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=str),
            "date": pd.Series([], dtype=str),
            "score": pd.Series([], dtype="int64"),
        }
    )
    if suffix == ".parquet":
        empty.to_parquet(path)
    else:
        empty.to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"surveys{suffix}\): the file has a header but no data"):
        load_surveys(path)


# ---- config


MINIMAL = """\
client: acme
data_dir: ../data
tables:
  transactions: {path: tx.csv}
"""


def make_config(tmp_path, text, files=None):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, content in (files or {"tx.csv": "customer_id,date,amount\nA,2024-01-05,1\n"}).items():
        (data / name).write_text(content, encoding="utf-8")
    (tmp_path / "clients").mkdir(exist_ok=True)
    path = tmp_path / "clients" / "acme.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


HOSTILE_CONFIGS = {
    "client_dot_dot": (
        MINIMAL.replace("client: acme", 'client: ".."'),
        r"client: client name '\.\.' must be a slug",
    ),
    "client_dot": (MINIMAL.replace("client: acme", 'client: "."'), r"client name '\.' must be"),
    "client_hidden": (MINIMAL.replace("client: acme", 'client: ".acme"'), r"must be a slug"),
    "currency_markup": (
        MINIMAL + 'currency: "<script>alert(1)</script>"\n',
        r"currency: currency '<script>alert\(1\)</script>' must be "
        r"an ISO 4217 code",
    ),
    "currency_unknown_code": (MINIMAL + "currency: ABC\n", r"currency 'ABC' must be an ISO"),
    "currency_lower_case_code": (MINIMAL + "currency: usd\n", r"upper case \('USD'\)"),
    "duplicate_key": (
        MINIMAL + "client: other\n",
        r"acme\.yaml: not valid YAML \(line 5, column 1\): duplicate key 'client' "
        r"\(lines 1 and 5\)$",
    ),
    "duplicate_nested_key": (MINIMAL + "analysis: {seed: 1, seed: 2}\n", r"duplicate key 'seed'"),
    "seed_true": (
        MINIMAL + "analysis: {seed: true}\n",
        r"analysis\.seed: expected a number, got True \(bool\)",
    ),
    "margin_as_text": (MINIMAL + 'analysis: {margin: "0.3"}\n', r"analysis\.margin: .*expected a"),
    "binary_yaml": (bytes(range(256)), r"acme\.yaml: not a text YAML file \(not valid UTF-8"),
    "nul_in_yaml": ("client: acme\x00\n", r"acme\.yaml: not valid YAML: unacceptable character"),
    "scalar_yaml": ("just a string\n", r"expected a mapping of settings, got str"),
    "sheet_yes": (
        MINIMAL.replace("{path: tx.csv}", "{path: tx.csv, sheet: yes}"),
        r"tables\.transactions\.sheet: expected a sheet name",
    ),
    "exclude_without_values": (
        MINIMAL.replace("{path: tx.csv}", "{path: tx.csv, exclude: [{column: code}]}"),
        r"an exclude rule needs 'values' or 'prefixes'",
    ),
}


@pytest.mark.parametrize(
    ("text", "message"), list(HOSTILE_CONFIGS.values()), ids=list(HOSTILE_CONFIGS)
)
def test_hostile_configs_are_one_clear_data_error(tmp_path, text, message):
    with pytest.raises(DataError, match=message) as caught:
        load_config(make_config(tmp_path, text))
    if "YAML" in message or "mapping" in message:  # YAML problems are one line
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("currency", ["EUR", "USD", "CHF", "€", "$", "£", "R$", "kr", "zł", "Fr."])
def test_iso_codes_and_short_symbols_are_valid_currencies(currency):
    assert check_currency(currency) == currency


def test_the_iso_4217_list_agrees_with_babel():
    numbers = pytest.importorskip("babel.numbers")
    assert ISO_4217 <= set(numbers.list_currencies())
    assert {"EUR", "USD", "GBP", "JPY", "CHF", "SEK", "PLN", "RUB", "CNY", "INR"} <= ISO_4217


def test_sheet_exclude_and_observation_end_reach_the_loaders(tmp_path):
    pytest.importorskip("openpyxl")
    text = (
        MINIMAL.replace(
            "{path: tx.csv}",
            "{path: tx.xlsx, sheet: Orders, exclude: [{column: code, values: [POST], "
            "reason: postage}]}",
        )
        + "analysis: {observation_end: 2024-06-30}\n"
    )
    config = make_config(tmp_path, text)
    with pd.ExcelWriter(tmp_path / "data" / "tx.xlsx") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame(
            {
                "customer_id": ["A", "B", "C"],
                "date": ["2024-01-05", "2024-01-06", "2024-07-01"],
                "amount": [1.0, 2.0, 3.0],
                "code": ["x", "POST", "y"],
            }
        ).to_excel(writer, sheet_name="Orders", index=False)
    with pytest.raises(DataError, match=r"row 4: '2024-07-01"):
        load_client(config)
    config.write_text(text.replace("tx.xlsx,", "tx.xlsx, on_invalid: drop,"), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = load_client(config)
    assert client.transactions["customer_id"].tolist() == ["A"]
    reasons = client.quality.loc[client.quality["rows_set_aside"] > 0, "reason"].tolist()
    assert reasons == [
        "excluded: postage",
        "date before 1900-01-01 or after the export date 2024-06-30",
    ]


def test_float_ids_with_a_missing_value_still_lose_their_point():
    raw = pd.DataFrame(
        {
            "customer_id": [1001.0, np.nan, 1002.0],
            "date": ["2024-01-05"] * 3,
            "amount": [1.0, 2.0, 3.0],
        }
    )
    assert loaded_quietly(raw, on_invalid="drop")["customer_id"].tolist() == ["1001", "1002"]
