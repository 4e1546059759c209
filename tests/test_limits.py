"""Inputs that hang, exhaust memory or change what a number says (issue 27).

Limits on what an input may cost (``limits:`` in the YAML): columns, line length, the size
and rows of an Excel workbook, each refused with a DataError naming the file and the setting;
DuckDB's read errors in cxlib's words; thousands separators resolved from the column's other
values or refused with a hint. Speeds are measured in ``benchmarks/hostile_inputs.py``.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
import yaml

from cxlib import DataError
from cxlib.data import load_customers, load_transactions
from cxlib.run.loading import load_client
from cxlib.settings.config import Limits
from tests.hostile_files import wide_csv, zip_bomb_xlsx

#: What DuckDB's own messages look like: none may reach a user.
ENGINE_WORDING = re.compile(
    r"Invalid Input Error|Not implemented Error|Possible Solution|Possible fixes|max_line_size"
    r"|strict_mode|ignore_errors|parallel = false|single threaded|Original Line|Binder Error"
    r"|Parser Error|Conversion Error|Catalog Error|duckdb",
    re.IGNORECASE,
)


def write_client(tmp_path, table_options: dict, limits: dict | None = None, name="tx.csv"):
    config = {"client": "x", "data_dir": ".", "tables": {"transactions": {"path": name}}}
    config["tables"]["transactions"].update(table_options)
    if limits is not None:
        config["limits"] = limits
    path = tmp_path / "client.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


# ---- columns


def test_a_table_wider_than_the_limit_is_refused_naming_the_file_and_the_setting(tmp_path):
    path = wide_csv(tmp_path / "wide.csv", columns=10_000)
    with pytest.raises(DataError) as error:
        load_transactions(path)
    assert str(error.value) == (
        f"load_transactions ({path}): the table has 10,003 columns, more than the limit of "
        "2,000 (limits.max_columns). Export only the columns the analysis needs, or, if the "
        "table is meant to be this wide, pass limits={'max_columns': 10003}."
    )


@pytest.mark.slow
def test_ten_thousand_columns_are_read_when_the_limit_allows_them(tmp_path):
    path = wide_csv(tmp_path / "wide.csv", columns=10_000, rows=5)
    loaded = load_transactions(path, limits={"max_columns": 10_003})
    assert loaded.shape == (5, 10_003)
    # every extra column holds whole numbers: typed as such, in one pass over the cells
    assert (loaded.dtypes.iloc[3:] == "int64").all()
    assert loaded["attribute_9999"].tolist() == [(r * 7 + 9999) % 100 for r in range(5)]


def test_extra_columns_are_typed_by_every_value_as_before(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,whole,decimal,zip,mixed,empty\n"
        "A,1,1.5,007,1,\nB, 2 ,2,010,x,\nC,,3e2,123,2,\n",
        encoding="utf-8",
    )
    loaded = load_customers(path)
    assert (
        loaded["whole"].tolist()[:2] == [1, 2]
        and loaded["whole"].dtype == "Int64"
        or (loaded["whole"].dtype == "float64")
    )
    assert loaded["decimal"].tolist() == [1.5, 2.0, 300.0]
    assert loaded["zip"].tolist() == ["007", "010", "123"]  # leading zeros stay text
    assert loaded["mixed"].tolist() == ["1", "x", "2"]


def test_a_dataframe_wider_than_the_limit_is_refused_too():
    frame = pd.DataFrame({"customer_id": ["A"], **{f"c{i}": [1] for i in range(30)}})
    with pytest.raises(DataError, match=r"31 columns, more than the limit of 20"):
        load_customers(frame, limits={"max_columns": 20})


# ---- Excel workbooks


def test_a_zip_bomb_workbook_is_refused_before_it_is_parsed(tmp_path):
    path = zip_bomb_xlsx(tmp_path / "bomb.xlsx")  # 1.6 MB, 414 MB of XML, 3M rows
    assert path.stat().st_size < 3_000_000
    with pytest.raises(DataError) as error:
        load_transactions(path)
    message = str(error.value)
    assert message.startswith(f"load_transactions ({path}): the workbook expands to ")
    assert "more than the limit of 200,000,000 (limits.max_xlsx_bytes)" in message
    assert "Save the sheet as CSV" in message


def test_a_workbook_with_more_rows_than_the_limit_is_refused(tmp_path):
    # 3M empty rows: 20 MB of XML, under the size limit; the rows are counted in a stream
    path = zip_bomb_xlsx(tmp_path / "rows.xlsx", row_xml="<row/>")
    with pytest.raises(
        DataError,
        match=r"rows\.xlsx\): the sheet has more than 1,048,576 rows, the limit "
        r"\(limits\.max_xlsx_rows\)",
    ):
        load_transactions(path)


def test_a_workbook_within_the_limits_still_loads(tmp_path):
    pytest.importorskip("openpyxl")
    path = zip_bomb_xlsx(tmp_path / "small.xlsx", rows=50)
    assert len(load_transactions(path)) == 50
    with pytest.raises(DataError, match=r"more than 40 rows, the limit"):
        load_transactions(path, limits={"max_xlsx_rows": 40})


# ---- lines


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_line_longer_than_the_limit_is_refused_in_cxlib_s_words(tmp_path, gzipped):
    import gzip

    text = "customer_id,date,amount,note\nA,2024-01-05,1,ok\nB,2024-01-05,1," + "x" * 3_000_000
    text += "\nC,2024-01-05,1,ok\n"
    path = tmp_path / ("tx.csv.gz" if gzipped else "tx.csv")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    with pytest.raises(DataError) as error:
        load_transactions(path)
    assert str(error.value) == (
        f"load_transactions ({path}): line 3 is 3,000,015 bytes long, more than the limit of "
        "2,000,000 (limits.max_line_bytes). A line this long is usually a broken export (a "
        "quote that never closes, or a file that is not text); if the line is meant to be "
        "this long, pass limits={'max_line_bytes': 3000016}."
    )
    loaded = load_transactions(path, limits={"max_line_bytes": 3_000_016})
    assert loaded["note"].str.len().tolist() == [2, 3_000_000, 2]


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_huge_last_line_is_refused_not_dropped(tmp_path, gzipped):
    # DuckDB's parallel reader drops a last line longer than its 32 MB buffer without a word
    import gzip

    text = "customer_id,date,amount,note\nA,2024-01-05,1,ok\nB,2024-01-05,1," + "x" * 40_000_000
    path = tmp_path / ("tx.csv.gz" if gzipped else "tx.csv")
    data = text.encode()
    path.write_bytes(gzip.compress(data, compresslevel=1) if gzipped else data)
    with pytest.raises(DataError, match=r"line 3 is 40,000,015 bytes long, more than the limit"):
        load_transactions(path)


def test_a_header_longer_than_the_sniffed_bytes_is_read_whole(tmp_path):
    names = [f"a_rather_long_attribute_name_{i}" for i in range(1_500)]  # 50 KB of header
    path = tmp_path / "wide.csv"
    path.write_text(
        "customer_id,date,amount," + ",".join(names) + "\nA,2024-01-05,1," + "1," * 1_499 + "1\n"
    )
    assert list(load_transactions(path).columns[-2:]) == names[-2:]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "customer_id,date,amount\nA,2024-01-05,1\nB,2024-01-05,1,9\n",
            r"line 3 has more fields than the header's 3: 'B,2024-01-05,1,9'",
        ),
        (
            'customer_id,date,amount\nA,2024-01-05,1\nB,"2024-01-05,1\nC,2024-01-05,1\n',
            r"a quoted value opened \(line 3\) never closes",
        ),
    ],
)
def test_read_errors_never_pass_on_the_engine_s_wording(tmp_path, content, expected):
    path = tmp_path / "tx.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=expected) as error:
        load_transactions(path)
    assert not ENGINE_WORDING.search(str(error.value)), str(error.value)


def test_a_broken_parquet_file_is_described_without_the_engine_s_wording(tmp_path):
    path = tmp_path / "tx.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"could not read the file as Parquet") as error:
        load_transactions(path)
    assert not ENGINE_WORDING.search(str(error.value))


# ---- thousands separators


def amounts(values, **options):
    raw = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(values))],
            "date": ["2024-01-05"] * len(values),
            "amount": values,
        }
    )
    return load_transactions(raw, **options)["amount"].tolist()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["6.135", "1.234.567", "12.500"], [6135.0, 1234567.0, 12500.0]),  # dots in thousands
        (["6.135", "1.234,50", "7"], [6135.0, 1234.5, 7.0]),  # and a decimal comma
        (["1,234", "12.5"], [1234.0, 12.5]),  # a decimal dot: commas in thousands
        (["1,234,567.25", "6,135"], [1234567.25, 6135.0]),
        (["6.135", "12.5", "0.125"], [6.135, 12.5, 0.125]),  # decimals, as written
        (["15", "-3", "1e3"], [15.0, -3.0, 1000.0]),  # nothing to resolve
    ],
)
def test_a_thousands_separator_is_resolved_from_the_column_s_other_values(values, expected):
    assert amounts(values) == expected


def test_a_number_that_reads_two_ways_is_refused_with_the_setting_to_choose(tmp_path):
    with pytest.raises(DataError) as error:
        amounts(["6.135", "15"], on_invalid="drop")  # no row is wrong on its own
    assert str(error.value) == (
        "load_transactions (DataFrame): column 'amount' (canonical 'amount') has numbers "
        "such as '6.135' that read two ways, as 6.135 or as 6,135, and no other value shows "
        "which: pass decimal='.' if '.' is the decimal separator, or decimal=',' if it is ','."
    )
    assert amounts(["6.135", "15"], decimal=",") == [6135.0, 15.0]
    assert amounts(["6.135", "15"], decimal=".") == [6.135, 15.0]
    # from a YAML, the hint names the table setting
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nA,2024-01-05,6.135\n")
    with pytest.raises(DataError) as from_yaml:
        load_client(write_client(tmp_path, {}))
    assert 'set `decimal: "."` if \'.\' is the decimal separator, or `decimal: ","`' in str(
        from_yaml.value
    )
    assert "(under tables.transactions in the YAML)" in str(from_yaml.value)
    config = write_client(tmp_path, {"decimal": ","})
    assert load_client(config).transactions["amount"].tolist() == [6135.0]


def test_dots_that_mean_both_thousands_and_decimals_are_refused():
    with pytest.raises(DataError, match=r"mixes number formats: '1\.234\.567' has dots between"):
        amounts(["1.234.567", "12.5"])


def test_a_value_that_does_not_fit_the_decided_format_is_an_offending_value():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = amounts(["1.234.567", "6.135", "12.5.0"], on_invalid="drop")
    assert kept == [1234567.0, 6135.0]
    with pytest.raises(DataError, match=r"non-numeric amount: row 1: '12,50'.*pass decimal=','"):
        amounts(["10.5", "12,50"])


# ---- the YAML's limits


def test_limits_are_read_from_the_yaml_and_named_in_its_words(tmp_path):
    wide_csv(tmp_path / "tx.csv", columns=30)
    with pytest.raises(DataError) as error:
        load_client(write_client(tmp_path, {}, limits={"max_columns": 20}))
    message = str(error.value)
    assert "the table has 33 columns, more than the limit of 20 (limits.max_columns)" in message
    assert "set `max_columns: 33` under `limits:`" in message
    assert "limits={" not in message and "(under tables." not in message
    client = load_client(write_client(tmp_path, {}, limits={"max_columns": 40}))
    assert client.transactions.shape == (20, 33)


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"max_column": 5}, r"limits\.max_column: unknown key; did you mean `max_columns:`\?"),
        ({"max_columns": True}, r"limits\.max_columns: expected a whole number, got True"),
        ({"max_columns": "5000"}, r"limits\.max_columns: expected a whole number, got '5000'"),
        ({"max_columns": 2}, r"limits\.max_columns: Input should be greater than or equal to"),
    ],
)
def test_invalid_limits_are_config_errors(tmp_path, limits, expected):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nA,2024-01-05,1\n")
    with pytest.raises(DataError, match=expected):
        load_client(write_client(tmp_path, {}, limits=limits))


def test_the_documented_defaults_are_the_defaults():
    doc = Limits.__doc__
    for key, value in Limits().model_dump().items():
        assert f"{key}: {value}" in doc, key
