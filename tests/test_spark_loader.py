"""The Spark loader applies the DuckDB loader's policy: same errors, same kept rows and counts.

Each test writes a small hostile export, loads it with :func:`cxlib.data.load_transactions`
(DuckDB) and with the Spark loader, and compares: the same :class:`~cxlib.DataError` text
(column, reason, offending values, row numbers; only the caller's name differs), or with
``on_invalid="drop"`` the same kept rows and the same quality records. One local Spark session
(the ``spark`` fixture of conftest.py) serves every test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from cxlib import DataError
from cxlib.data import load_transactions

pytestmark = pytest.mark.slow

END = "2025-06-30"  # the export date of every file here


def _duckdb(path: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "set aside n of m rows"
        return load_transactions(path, observation_end=END, **options)


def _spark(spark, path: Path, **options):
    from cxlib.data._spark_loader import read_transactions, to_pandas

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rows, records = read_transactions(spark, path=path, observation_end=END, **options)
    frame = to_pandas(rows)
    frame.attrs["quality"] = records
    return frame


def assert_same_error(spark, path: Path, **options) -> str:
    """Both loaders refuse the file with the same message; return DuckDB's."""
    with pytest.raises(DataError) as duck:
        _duckdb(path, **options)
    with pytest.raises(DataError) as on_spark:
        _spark(spark, path, **options)
    spark_text = str(on_spark.value).replace("load_transactions (spark)", "load_transactions")
    assert spark_text == str(duck.value)
    return str(duck.value)


def assert_same_rows(spark, path: Path, **options) -> pd.DataFrame:
    """Both loaders keep the same rows and write the same quality records; return them."""
    duck = _duckdb(path, **options)
    on_spark = _spark(spark, path, **options)
    assert_frame_equal(on_spark, duck, check_exact=True)
    assert on_spark.attrs["quality"] == duck.attrs["quality"]
    return duck


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def test_control_characters_in_ids_are_refused_or_set_aside(spark, tmp_path):
    path = _write(
        tmp_path,
        "ctrl.csv",
        'customer_id,date,amount\na,2024-01-02,1\n"b\x01",2024-01-03,2\n"c\td",2024-01-04,3\n'
        "e,2024-01-05,4\n",
    )
    message = assert_same_error(spark, path)
    assert "2 row(s) with control character in customer_id: row 3: 'b\\x01', row 4: 'c\\td'" in (
        message
    )
    kept = assert_same_rows(spark, path, on_invalid="drop")
    assert kept["customer_id"].tolist() == ["a", "e"]
    assert kept.attrs["quality"][0]["reason"] == "control character in customer_id"
    assert kept.attrs["quality"][0]["rows_set_aside"] == 2


def test_float_artefact_ids_lose_their_zero_fraction_only_when_every_id_has_one(spark, tmp_path):
    header = "customer_id,date,amount\n"
    every = _write(tmp_path, "every.csv", header + "17850.0,2024-01-02,1\n13047.0,2024-01-03,2\n")
    assert assert_same_rows(spark, every)["customer_id"].tolist() == ["17850", "13047"]
    mixed = _write(tmp_path, "mixed.csv", header + "17850.0,2024-01-02,1\n13047,2024-01-03,2\n")
    assert assert_same_rows(spark, mixed)["customer_id"].tolist() == ["17850.0", "13047"]
    floats = tmp_path / "floats.parquet"  # a float column, as pandas writes an id with gaps
    pd.DataFrame(
        {"customer_id": [17850.0, 13047.0], "date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
         "amount": [1.0, 2.0]}
    ).to_parquet(floats)  # fmt: skip
    assert assert_same_rows(spark, floats)["customer_id"].tolist() == ["17850", "13047"]


def test_day_month_dates_are_inferred_only_when_unambiguous(spark, tmp_path):
    ambiguous = _write(
        tmp_path, "ambiguous.csv", "customer_id,date,amount\na,03/02/2024,1\nb,04/05/2024,2\n"
    )
    message = assert_same_error(spark, ambiguous)
    assert "ambiguous dates such as '03/02/2024'" in message and "'%d/%m/%Y'" in message
    clear = _write(tmp_path, "clear.csv", "customer_id,date,amount\na,3/2/2024,1\nb,24/05/2024,2\n")
    kept = assert_same_rows(spark, clear)
    assert kept["date"].tolist() == [pd.Timestamp("2024-02-03"), pd.Timestamp("2024-05-24")]
    iso_and_dmy = _write(
        tmp_path, "both.csv", "customer_id,date,amount\na,2024-01-02,1\nb,24/05/2024,2\n"
    )
    message = assert_same_error(spark, iso_and_dmy)
    assert "mixes date formats" in message and "(row 3: '24/05/2024')" in message
    both_above_12 = _write(
        tmp_path, "swapped.csv", "customer_id,date,amount\na,24/05/2024,1\nb,05/24/2024,2\n"
    )
    assert "mixes day/month and month/day" in assert_same_error(spark, both_above_12)


def test_dates_and_amounts_parse_alike(spark, tmp_path):
    path = _write(
        tmp_path,
        "parse.csv",
        "customer_id,date,amount\n"
        "a,2024-01-02T23:30:00-02:00,1_000\n"  # an explicit offset: the UTC wall time
        "b,2024-01,5\n"  # not a date for DuckDB (Spark alone reads it as January 1)
        "c,2024-01-03,12d\n"  # not a number for DuckDB (Spark alone reads 12)
        "d,2031-01-01,0x1p3\n"  # after the export date and not a number: the date's reason
        "e,n/a,7\n"  # a null marker: a missing date, not an unparseable one
        "f,2024-01-04,0\n"
        "f,2024-01-04,0\n",
    )
    message = assert_same_error(spark, path)
    assert "1 row(s) with missing date: row 6: 'n/a'" in message
    kept = assert_same_rows(spark, path, on_invalid="drop")
    assert kept["date"].iloc[0] == pd.Timestamp("2024-01-03 01:30")
    reasons = {r["reason"]: r["rows_set_aside"] + r["rows_flagged"] for r in kept.attrs["quality"]}
    assert reasons == {
        "missing date": 1,
        "unparseable date": 1,
        "date before 1900-01-01 or after the export date 2025-06-30": 1,
        "non-numeric amount": 1,
        "kept: zero amount": 2,
        "kept: identical to an earlier row (duplicate line)": 1,
    }


def test_exclude_rules_set_rows_aside_whatever_on_invalid_says(spark, tmp_path):
    path = _write(
        tmp_path,
        "codes.csv",
        "customer_id,date,amount,StockCode\n"
        "a,2024-01-02,10,85123A\n"
        ",2024-01-02,-1,POST\n"  # no customer, but excluded first: no error
        "b,2024-01-03,2,C2\n"
        "c,2024-01-04,3,BANK CHARGES\n",
    )
    rules = [
        {"column": "StockCode", "values": ["POST", "BANK CHARGES"], "reason": "non-product code"},
        {"column": "StockCode", "prefixes": ["C"]},
    ]
    kept = assert_same_rows(spark, path, exclude=rules)
    assert kept["customer_id"].tolist() == ["a"]
    assert [(r["reason"], r["rows_set_aside"]) for r in kept.attrs["quality"]] == [
        ("excluded: non-product code", 2),
        ("excluded: StockCode in ['C…']", 1),
    ]
    message = assert_same_error(spark, path, exclude=[{"column": "Code", "values": ["POST"]}])
    assert "exclude names column(s) ['Code']" in message


def test_encoding_is_spark_s_csv_encoding_and_bad_bytes_are_refused(spark, tmp_path):
    text = "customer_id,date,amount,city\nЖ1,2024-01-02,1,Москва\nЖ2,2024-01-03,2,Тверь\n"
    path = _write(tmp_path, "cyrillic.csv", text, encoding="cp1251")
    kept = assert_same_rows(spark, path, encoding="cp1251")
    assert kept["city"].tolist() == ["Москва", "Тверь"]
    assert "not valid utf-8 (line 2)" in assert_same_error(spark, path)
    # A bad byte past what the header sniffing reads: found by Spark's own pass.
    late = tmp_path / "late.csv"
    rows = "".join(f"c{k},2024-01-02,{k}\n" for k in range(5_000))
    late.write_bytes(b"customer_id,date,amount\n" + rows.encode() + b"x\xff,2024-01-02,1\n")
    with pytest.raises(DataError, match="not valid utf-8"):
        _duckdb(late)
    with pytest.raises(DataError, match=r"not valid utf-8 \(line 5002\): invalid byte sequence"):
        _spark(spark, late)


def test_line_items_make_the_amount(spark, tmp_path):
    path = _write(
        tmp_path,
        "items.csv",
        "customer_id,date,Quantity,UnitPrice,note\n"
        "a,2024-01-02,2,3.5,x\n"
        "b,2024-01-03,many,1,y\n"
        "c,2024-01-04,1,1e13,z\n",
    )
    columns = {"quantity": "Quantity", "unit_price": "UnitPrice"}
    message = assert_same_error(spark, path, columns=columns)
    assert "column 'Quantity' (canonical 'quantity'): 1 row(s) with non-numeric quantity" in message
    kept = assert_same_rows(spark, path, columns=columns, on_invalid="drop")
    assert list(kept.columns) == ["customer_id", "date", "amount", "Quantity", "UnitPrice", "note"]
    assert kept["amount"].tolist() == [7.0]
    assert [(r["reason"], r["rows_set_aside"]) for r in kept.attrs["quality"]] == [
        ("non-numeric quantity", 1),
        ("unit_price beyond ±1e+12", 1),
    ]


def test_excel_is_refused_with_what_to_do(spark, tmp_path):
    from cxlib.data._spark_loader import read_transactions

    path = tmp_path / "orders.xlsx"
    pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-02"], "amount": [1.0]}).to_excel(
        path, index=False
    )
    assert len(_duckdb(path)) == 1  # DuckDB's loader reads it (through pandas)
    with pytest.raises(DataError, match=r"does not read Excel.*CSV \(UTF-8\) or Parquet"):
        read_transactions(spark, path=path)


def test_a_spark_client_config_passes_exclude_and_encoding(spark, tmp_path):
    from cxlib.data._spark_loader import load_transactions_spark
    from cxlib.settings.config import load_config

    text = "Kunde,Datum,Betrag,Art\nЖ1,2024-01-02,10,Ware\nЖ2,2024-01-03,5,Porto\n"
    _write(tmp_path, "tx.csv", text, encoding="cp1251")
    config = tmp_path / "client.yaml"
    config.write_text(
        f"client: c\ndata_dir: {tmp_path}\nengine: spark\nanalysis: {{observation_end: '{END}'}}\n"
        "tables:\n  transactions:\n    path: tx.csv\n    encoding: cp1251\n"
        "    columns: {customer_id: Kunde, date: Datum, amount: Betrag}\n"
        "    exclude: [{column: Art, values: [Porto], reason: postage}]\n",
        encoding="utf-8",
    )
    loaded = load_config(config)
    frame = load_transactions_spark(loaded.table_path("transactions"), config=loaded)
    duck = _duckdb(
        tmp_path / "tx.csv",
        encoding="cp1251",
        columns={"customer_id": "Kunde", "date": "Datum", "amount": "Betrag"},
        exclude=[{"column": "Art", "values": ["Porto"], "reason": "postage"}],
    )
    assert_frame_equal(frame, duck)
    assert frame.attrs["quality"] == duck.attrs["quality"]
    assert frame.attrs["quality"][0]["reason"] == "excluded: postage"


def test_a_header_without_rows_is_refused(spark, tmp_path):
    path = _write(tmp_path, "empty.csv", "customer_id,date,amount\n")
    assert "the file has a header but no data rows" in assert_same_error(spark, path)
    parquet = tmp_path / "empty.parquet"
    columns = {"customer_id": object, "date": "datetime64[us]", "amount": float}
    pd.DataFrame({name: pd.Series([], dtype=t) for name, t in columns.items()}).to_parquet(parquet)
    assert "no data rows" in assert_same_error(spark, parquet)


def test_extra_columns_that_hold_numbers_become_numbers(spark, tmp_path):
    path = _write(
        tmp_path,
        "extras.csv",
        "customer_id,date,amount,store,ratio,zip,note\n"
        "a,2024-01-02,1,12,0.5,007,x\n"
        "b,2024-01-03,2,,1e3,010,12\n"
        "c,2024-01-04,3,7,2,100,y\n",
    )
    kept = assert_same_rows(spark, path)
    assert kept["store"].tolist()[::2] == [12, 7] and kept["ratio"].tolist() == [0.5, 1000.0, 2.0]
    assert kept["zip"].tolist() == ["007", "010", "100"]  # a leading zero keeps the text


def test_a_parquet_file_spark_cannot_read_is_a_data_error(spark, tmp_path):
    from cxlib.data._spark_loader import read_transactions

    path = tmp_path / "nanos.parquet"  # nanosecond timestamps: what pandas 2 writes
    dates = pd.Series(pd.to_datetime(["2024-01-02"])).astype("datetime64[ns]")
    pd.DataFrame({"customer_id": ["a"], "date": dates, "amount": [1.0]}).to_parquet(path)
    assert len(_duckdb(path)) == 1
    with pytest.raises(DataError, match=r"could not read the file.*coerce_timestamps='us'"):
        read_transactions(spark, path=path)


def test_a_file_name_is_read_literally_never_as_a_pattern(spark, tmp_path):
    _write(tmp_path, "y1.csv", "customer_id,date,amount\npattern,2024-01-02,1\n")
    path = _write(tmp_path, "y[12].csv", "customer_id,date,amount\nliteral,2024-01-02,1\n")
    assert assert_same_rows(spark, path)["customer_id"].tolist() == ["literal"]


def test_a_quoted_value_spanning_lines_is_refused_not_misread(spark, tmp_path):
    # DuckDB reads the quoted line break; Spark reads each line as a row, and the second
    # line's row fails the checks instead of passing as a customer.
    path = _write(tmp_path, "note.csv", 'customer_id,date,amount,note\na,2024-01-02,5,"one\ntwo"\n')
    assert _duckdb(path)["note"].tolist() == ["one\ntwo"]
    with pytest.raises(DataError, match="row 3"):
        _spark(spark, path)


# ---- issue 27: limits and number formats, alike in both loaders


@pytest.mark.parametrize(
    "amounts",
    [
        ["6.135", "1.234.567", "12.500"],  # thousands dots: 6135
        ["1,234", "12.5"],  # a decimal dot: the comma separates thousands
        ["6.135", "15"],  # nothing says which: refused
        ["1.234.567", "12.5"],  # the dot means both: refused
    ],
)
def test_thousands_separators_are_resolved_or_refused_alike(spark, tmp_path, amounts):
    lines = "".join(f'C{k},2025-01-0{k + 1},"{a}"\n' for k, a in enumerate(amounts))
    path = _write(tmp_path, "tx.csv", "customer_id,date,amount\n" + lines)
    try:
        _duckdb(path)
    except DataError:
        assert "pass decimal='.'" in assert_same_error(spark, path)
    else:
        assert_same_rows(spark, path)


def test_the_column_and_line_limits_apply_to_spark_too(spark, tmp_path):
    wide = _write(
        tmp_path, "wide.csv", ",".join(f"c{i}" for i in range(30)) + "\n" + "1," * 29 + "1\n"
    )
    message = assert_same_error(spark, wide, limits={"max_columns": 20})
    assert "30 columns, more than the limit of 20 (limits.max_columns)" in message
    long = _write(
        tmp_path, "long.csv", "customer_id,date,amount,note\nA,2025-01-01,1," + "x" * 5_000 + "\n"
    )
    message = assert_same_error(spark, long, limits={"max_line_bytes": 2_000})
    assert "line 2 is 5,015 bytes long, more than the limit of 2,000 (limits.max_line_bytes)" in (
        message
    )
